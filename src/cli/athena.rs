//! `tightrole athena`: the table DDL for pushing the aggregation down to Athena.

use clap::{Args as ClapArgs, Subcommand};

use super::{Exit, print_stdout};
use crate::athena::{Ddl, ddl};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Print the CREATE TABLE for the trail bucket: AWS's documented CloudTrail table, with
    /// partition projection over account, region and day, so every query scans only its window.
    /// (To use an existing table instead, pass its name to `--athena` and its partition columns
    /// to `--athena-partitions`.)
    Ddl(DdlArgs),
}

#[derive(Debug, ClapArgs)]
struct DdlArgs {
    /// The trail's bucket.
    #[arg(long, value_name = "NAME")]
    bucket: String,
    /// The trail's S3 key prefix, if it has one (the part before `AWSLogs/`).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
    /// The organization id, for an organization trail (`AWSLogs/o-…/ACCOUNT/…`).
    #[arg(long, value_name = "ID")]
    org_id: Option<String>,
    /// The accounts to project (repeatable; at least one).
    #[arg(long = "account", value_name = "ID", required = true)]
    accounts: Vec<String>,
    /// The regions to project (repeatable; default: every region the AWS SDK knows, in every
    /// partition).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// The table's name.
    #[arg(long, value_name = "NAME", default_value = "cloudtrail_logs")]
    table: String,
    /// The first day of the trail (`yyyy/MM/dd`).
    #[arg(long, value_name = "DAY", default_value = "2020/01/01")]
    start: String,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Sub::Ddl(a) => {
            let d = Ddl {
                table: a.table,
                bucket: a.bucket,
                prefix: a.prefix,
                org_id: a.org_id,
                accounts: a.accounts,
                regions: a.regions,
                start: a.start,
            };
            d.validate()?;
            print_stdout(&ddl(&d))?;
            Ok(Exit::Ok)
        }
    }
}
