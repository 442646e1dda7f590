//! `tightrole schema`, `completions` and `man`: what other tools need of tightrole itself.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, CommandFactory};

use super::{Cli, Exit, print_stdout};
use crate::report::schema;
use crate::write::FileSet;

#[derive(Debug, ClapArgs)]
pub struct SchemaArgs {
    /// The output whose schema to print; without one, the list.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(schema::PUBLISHED.iter().map(|p| p.name)))]
    pub name: Option<String>,
    /// Write every schema into this directory, as `docs/schemas/` holds them.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    pub out: Option<PathBuf>,
}

pub fn schema(args: SchemaArgs) -> anyhow::Result<Exit> {
    if let Some(dir) = args.out {
        for path in schema::write_all(&dir)? {
            eprintln!("wrote {}", path.display());
        }
    } else if let Some(name) = args.name {
        let p = schema::find(&name).context("the parser admits only schema names")?;
        print_stdout(&p.text())?;
    } else {
        print_stdout(&schema::listing())?;
    }
    Ok(Exit::Ok)
}

#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<Exit> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "tightrole", &mut out);
    print_stdout(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Ok)
}

#[derive(Debug, ClapArgs)]
pub struct ManArgs {
    /// Write tightrole.1 and a page per command (tightrole-generate.1, …) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn man(args: ManArgs) -> anyhow::Result<Exit> {
    let cmd = Cli::command();
    let page = |c: clap::Command| -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        clap_mangen::Man::new(c)
            .render(&mut out)
            .context("cannot render the man page")?;
        Ok(out)
    };
    let Some(dir) = args.out else {
        print_stdout(&String::from_utf8_lossy(&page(cmd)?))?;
        return Ok(Exit::Ok);
    };
    let mut files = FileSet::new();
    files.add(&dir.join("tightrole.1"), page(cmd.clone())?, "tightrole")?;
    for sub in cmd.get_subcommands() {
        let name = format!("tightrole-{}", sub.get_name());
        let bin = format!("tightrole {}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(bin);
        files.add(&dir.join(format!("{name}.1")), page(sub)?, name)?;
    }
    for path in files.commit()? {
        eprintln!("wrote {}", path.display());
    }
    Ok(Exit::Ok)
}
