//! The Lambda inventory, in every selected region: `ListFunctions` (name, role and
//! configuration), `ListEventSourceMappings` (the mappings of each function) and
//! `ListFunctionEventInvokeConfigs` (the asynchronous-invocation destinations of each function),
//! all pages of each. It carries what the same calls' CLI output read as `--functions FILE`
//! carries.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::{FunctionConfiguration, FunctionEventInvokeConfig};

use super::Live;
use super::error::{AwsError, Call, explain};
use crate::identity::{ConfigurationFields, Inventory};

/// ListFunctionEventInvokeConfigs calls in flight at once in a region (Lambda's control plane
/// allows 15 requests a second; throttling is retried by the SDK).
const INVOKE_CONFIG_CONCURRENCY: usize = 4;

/// Lists every function in every region of `live` (all pages), with its configuration.
pub fn inventory(live: &Live) -> Result<Inventory, AwsError> {
    let mut inv = Inventory::default();
    add_inventory(live, &mut inv)?;
    Ok(inv)
}

/// Adds every function of every region of `live` to `inv` (all pages), with its configuration,
/// its event-source mappings and its asynchronous-invocation destinations.
///
/// The same name in two regions with different roles keeps the name (attribution by name still
/// holds) but no role. A function whose invoke configs cannot be listed because the call is not
/// there (an endpoint without it, a function deleted since it was listed) has none; a refused
/// call fails like the others.
pub fn add_inventory(live: &Live, inv: &mut Inventory) -> Result<(), AwsError> {
    live.runtime.block_on(async {
        // The names whose role a configuration read here gave (or took away, on a conflict).
        let mut roled = std::collections::BTreeSet::new();
        for region in &live.regions {
            let client = aws_sdk_lambda::Client::new(&live.config_for(region));
            let functions = list_functions(&client, region, inv, &mut roled).await?;
            list_mappings(&client, region, inv).await?;
            let configs = list_invoke_configs(&client, region, functions).await?;
            for c in configs {
                add_invoke_config(inv, &c);
            }
        }
        Ok(())
    })
}

/// ListFunctions, all pages: each function's name, role and configuration. The function ARNs
/// (or names) listed, in order.
async fn list_functions(
    client: &aws_sdk_lambda::Client,
    region: &str,
    inv: &mut Inventory,
    roled: &mut std::collections::BTreeSet<String>,
) -> Result<Vec<String>, AwsError> {
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_functions()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| explain(e, Call::ListFunctions, &format!("region {region}"), "*"))?;
        for c in page.functions() {
            let Some(id) = c
                .function_arn()
                .or(c.function_name())
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            add_configuration(inv, id, c, roled);
            listed.push(id.to_string());
        }
        marker = next(page.next_marker());
        if marker.is_none() {
            return Ok(listed);
        }
    }
}

/// One function of ListFunctions. The role is the configuration's unless another one (another
/// region's, or a file's) said otherwise: then the function has no one role.
fn add_configuration(
    inv: &mut Inventory,
    id: &str,
    c: &FunctionConfiguration,
    roled: &mut std::collections::BTreeSet<String>,
) {
    let role = c.role().filter(|r| !r.is_empty()).map(str::to_string);
    let f = inv.entry(id);
    // A role is already said for it by a configuration: a file's, or another region's.
    let said = f.config.known || roled.contains(&f.name);
    if !said {
        f.role = role;
    } else if f.role != role {
        f.role = None;
    }
    roled.insert(f.name.clone());
    f.config.apply(configuration_fields(c));
}

/// What [`crate::identity::Inventory::read`] reads from the same object of the CLI's output.
fn configuration_fields(c: &FunctionConfiguration) -> ConfigurationFields {
    let some = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    ConfigurationFields {
        log_group: some(c.logging_config().and_then(|l| l.log_group())),
        dead_letter: some(c.dead_letter_config().and_then(|d| d.target_arn())),
        vpc: c
            .vpc_config()
            .map(|v| (v.subnet_ids().to_vec(), v.security_group_ids().to_vec())),
        tracing_active: c
            .tracing_config()
            .and_then(|t| t.mode())
            .is_some_and(|m| m.as_str().eq_ignore_ascii_case("Active")),
        file_systems: (!c.file_system_configs().is_empty()).then(|| {
            c.file_system_configs()
                .iter()
                .map(|f| f.arn().to_string())
                .filter(|a| !a.is_empty())
                .collect()
        }),
        kms_key: some(c.kms_key_arn()),
    }
}

/// ListEventSourceMappings, all pages: each mapping, on the function it names.
async fn list_mappings(
    client: &aws_sdk_lambda::Client,
    region: &str,
    inv: &mut Inventory,
) -> Result<(), AwsError> {
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_event_source_mappings()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    Call::ListEventSourceMappings,
                    &format!("region {region}"),
                    "*",
                )
            })?;
        for m in page.event_source_mappings() {
            let Some(function) = m.function_arn().filter(|f| !f.is_empty()) else {
                continue;
            };
            inv.add_mapping_fields(
                function,
                m.uuid().unwrap_or_default().to_string(),
                m.event_source_arn()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                m.destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|o| o.destination())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        marker = next(page.next_marker());
        if marker.is_none() {
            return Ok(());
        }
    }
}

/// ListFunctionEventInvokeConfigs of each function (all pages of each), a few at a time; the
/// configs in the order of `functions`.
async fn list_invoke_configs(
    client: &aws_sdk_lambda::Client,
    region: &str,
    functions: Vec<String>,
) -> Result<Vec<FunctionEventInvokeConfig>, AwsError> {
    let mut results: Vec<Option<Vec<FunctionEventInvokeConfig>>> = vec![None; functions.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = functions.into_iter().enumerate();
    loop {
        while tasks.len() < INVOKE_CONFIG_CONCURRENCY {
            let Some((i, function)) = pending.next() else {
                break;
            };
            let (client, region) = (client.clone(), region.to_string());
            tasks.spawn(async move { (i, invoke_configs(&client, &region, &function).await) });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        match done {
            Ok((i, Ok(configs))) => results[i] = Some(configs),
            // The other calls are dropped (and so cancelled) with `tasks`.
            Ok((_, Err(e))) => return Err(e),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    Ok(results.into_iter().flatten().flatten().collect())
}

/// ListFunctionEventInvokeConfigs of one function (its ARN, or its name), all pages.
async fn invoke_configs(
    client: &aws_sdk_lambda::Client,
    region: &str,
    function: &str,
) -> Result<Vec<FunctionEventInvokeConfig>, AwsError> {
    // By name: the client is the function's region's.
    let name = crate::identity::function_name_of(function);
    let mut configs = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let sent = client
            .list_function_event_invoke_configs()
            .function_name(name)
            .set_marker(marker.clone())
            .send()
            .await;
        let page = match sent {
            Ok(page) => page,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                if not_there(e.code().unwrap_or_default(), status) {
                    return Ok(configs);
                }
                return Err(explain(
                    e,
                    Call::ListFunctionEventInvokeConfigs,
                    &format!("function {name} in region {region}"),
                    &function_resource(function, region),
                ));
            }
        };
        configs.extend(page.function_event_invoke_configs().iter().cloned());
        marker = next(page.next_marker());
        if marker.is_none() {
            return Ok(configs);
        }
    }
}

/// The destinations of one invoke config, on the function it names.
fn add_invoke_config(inv: &mut Inventory, c: &FunctionEventInvokeConfig) {
    let Some(function) = c.function_arn().filter(|f| !f.is_empty()) else {
        return;
    };
    let d = c.destination_config();
    let dest = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    inv.add_destination_fields(
        function,
        dest(d.and_then(|d| d.on_success()).and_then(|o| o.destination())),
        dest(d.and_then(|d| d.on_failure()).and_then(|o| o.destination())),
    );
}

/// Does a failed ListFunctionEventInvokeConfigs say the call (or the function) is not there,
/// rather than refused? An endpoint without the API answers 404 or 501 (`UnknownOperation…`,
/// `NotImplemented`); a function deleted since ListFunctions, `ResourceNotFoundException`.
fn not_there(code: &str, status: Option<u16>) -> bool {
    const CODES: [&str; 6] = [
        "ResourceNotFoundException",
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotImplemented",
        "InvalidAction",
    ];
    CODES.contains(&code) || matches!(status, Some(404) | Some(501))
}

/// The resource ListFunctionEventInvokeConfigs needs its permission on: the function's ARN
/// without a qualifier, or every function of the name in the region when only a name is known.
fn function_resource(function: &str, region: &str) -> String {
    match function.split_once(":function:") {
        Some((head, rest)) if function.starts_with("arn:") => format!(
            "{head}:function:{}",
            crate::identity::function_name_of(rest)
        ),
        _ => format!(
            "arn:{}:lambda:{region}:*:function:{function}",
            crate::arn::partition_for_region(region)
        ),
    }
}

fn next(marker: Option<&str>) -> Option<String> {
    marker.filter(|m| !m.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_call_is_not_a_refusal() {
        assert!(not_there("ResourceNotFoundException", Some(404)));
        assert!(not_there("UnknownOperationException", Some(400)));
        assert!(not_there("", Some(404)));
        assert!(not_there("", Some(501)));
        assert!(!not_there("AccessDeniedException", Some(403)));
        assert!(!not_there("TooManyRequestsException", Some(429)));
        assert!(!not_there("ServiceException", Some(500)));
    }

    #[test]
    fn the_resource_is_the_unqualified_function() {
        assert_eq!(
            function_resource("arn:aws:lambda:eu-west-1:1:function:f:live", "eu-west-1"),
            "arn:aws:lambda:eu-west-1:1:function:f"
        );
        assert_eq!(
            function_resource("f", "eu-west-1"),
            "arn:aws:lambda:eu-west-1:*:function:f"
        );
        assert_eq!(
            function_resource("f", "cn-northwest-1"),
            "arn:aws-cn:lambda:cn-northwest-1:*:function:f"
        );
    }

    #[test]
    fn the_sdk_configuration_reads_as_the_cli_output_does() {
        use aws_sdk_lambda::types::{
            DeadLetterConfig, FileSystemConfig, LoggingConfig, TracingConfigResponse, TracingMode,
            VpcConfigResponse,
        };
        let sdk = FunctionConfiguration::builder()
            .function_name("f")
            .function_arn("arn:aws:lambda:eu-west-1:1:function:f")
            .role("arn:aws:iam::1:role/r")
            .logging_config(LoggingConfig::builder().log_group("/custom/f").build())
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn("arn:aws:sqs:eu-west-1:1:dlq")
                    .build(),
            )
            .vpc_config(
                VpcConfigResponse::builder()
                    .subnet_ids("subnet-1")
                    .security_group_ids("sg-1")
                    .build(),
            )
            .tracing_config(
                TracingConfigResponse::builder()
                    .mode(TracingMode::Active)
                    .build(),
            )
            .file_system_configs(
                FileSystemConfig::builder()
                    .arn("arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1")
                    .local_mount_path("/mnt/efs")
                    .build()
                    .unwrap(),
            )
            .kms_key_arn("arn:aws:kms:eu-west-1:1:key/k")
            .build();
        let mut live = Inventory::default();
        add_configuration(
            &mut live,
            "arn:aws:lambda:eu-west-1:1:function:f",
            &sdk,
            &mut Default::default(),
        );
        let file = Inventory::parse(
            r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f",
            "Role":"arn:aws:iam::1:role/r","LoggingConfig":{"LogGroup":"/custom/f"},
            "DeadLetterConfig":{"TargetArn":"arn:aws:sqs:eu-west-1:1:dlq"},
            "VpcConfig":{"SubnetIds":["subnet-1"],"SecurityGroupIds":["sg-1"]},
            "TracingConfig":{"Mode":"Active"},
            "FileSystemConfigs":[{"Arn":"arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1","LocalMountPath":"/mnt/efs"}],
            "KMSKeyArn":"arn:aws:kms:eu-west-1:1:key/k"}]}"#,
        )
        .unwrap_or_default();
        assert_eq!(live.functions, file.functions);
        assert!(live.functions["f"].config.known);
    }

    #[test]
    fn one_name_in_two_regions_with_two_roles_has_no_role() {
        let conf = |region: &str, role: &str| {
            FunctionConfiguration::builder()
                .function_name("f")
                .function_arn(format!("arn:aws:lambda:{region}:1:function:f"))
                .role(role)
                .build()
        };
        let mut inv = Inventory::default();
        let mut roled = Default::default();
        for (region, role) in [
            ("eu-west-1", "arn:aws:iam::1:role/a"),
            ("us-east-1", "arn:aws:iam::1:role/b"),
            ("eu-central-1", "arn:aws:iam::1:role/a"),
        ] {
            let c = conf(region, role);
            add_configuration(&mut inv, c.function_arn().unwrap_or("f"), &c, &mut roled);
        }
        assert_eq!(inv.functions["f"].role, None);

        // The same role everywhere keeps it; a mapping read first from a file gives no role.
        let mut inv = Inventory::default();
        inv.add_mapping_fields(
            "arn:aws:lambda:eu-west-1:1:function:f",
            "u".into(),
            None,
            None,
        );
        let mut roled = Default::default();
        for region in ["eu-west-1", "us-east-1"] {
            let c = conf(region, "arn:aws:iam::1:role/a");
            add_configuration(&mut inv, c.function_arn().unwrap_or("f"), &c, &mut roled);
        }
        assert_eq!(
            inv.functions["f"].role.as_deref(),
            Some("arn:aws:iam::1:role/a")
        );
        assert_eq!(inv.functions["f"].config.mappings.len(), 1);
    }
}
