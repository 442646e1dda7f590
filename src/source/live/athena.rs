//! Running the push-down query on Amazon Athena: StartQueryExecution, GetQueryExecution polled
//! with backoff until the query ends, then every page of GetQueryResults.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};

use super::Live;
use super::error::{Call, LiveError, explain};

/// Where and how to run the query.
#[derive(Debug, Clone)]
pub struct Target {
    pub workgroup: String,
    pub database: String,
    /// `s3://…` for the results; the workgroup's own location when `None`.
    pub output: Option<String>,
}

/// What a finished query gave.
#[derive(Debug, Default)]
pub struct Finished {
    pub execution_id: String,
    pub rows: Vec<BTreeMap<String, Option<String>>>,
    pub bytes_scanned: u64,
    pub result_pages: u64,
    pub polls: u64,
    pub seconds: f64,
}

/// Athena bills at least 10 MB per query.
pub const MIN_BILLED_BYTES: u64 = 10 * 1024 * 1024;

/// The cost of a query: bytes scanned (at least 10 MB) × the price per TB (2^40 bytes).
pub fn cost(bytes_scanned: u64, price_per_tb: f64) -> f64 {
    bytes_scanned.max(MIN_BILLED_BYTES) as f64 / (1u64 << 40) as f64 * price_per_tb
}

/// The workgroup's ARN as an error message names it, in the partition of the configured region.
fn workgroup_arn(config: &aws_config::SdkConfig, workgroup: &str) -> String {
    let region = config.region().map_or("", |r| r.as_ref());
    let partition = crate::arn::partition_for_region(region);
    format!("arn:{partition}:athena:*:*:workgroup/{workgroup}")
}

/// Runs `sql` and returns every result row by column name.
pub fn run(live: &Live, sql: &str, target: &Target) -> Result<Finished, LiveError> {
    let started = Instant::now();
    live.runtime.block_on(async {
        let client = aws_sdk_athena::Client::new(&live.config);
        let wg = format!("workgroup {}", target.workgroup);
        let wg_arn = workgroup_arn(&live.config, &target.workgroup);
        let mut req = client
            .start_query_execution()
            .query_string(sql)
            .work_group(&target.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&target.database)
                    .build(),
            );
        if let Some(out) = &target.output {
            req = req
                .result_configuration(ResultConfiguration::builder().output_location(out).build());
        }
        let id = req
            .send()
            .await
            .map_err(|e| explain(e, Call::StartQueryExecution, &wg, &wg_arn))?
            .query_execution_id()
            .unwrap_or_default()
            .to_string();
        let mut out = Finished {
            execution_id: id.clone(),
            ..Finished::default()
        };
        let mut wait = Duration::from_millis(200);
        loop {
            out.polls += 1;
            let q = client
                .get_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .map_err(|e| explain(e, Call::GetQueryExecution, &wg, &wg_arn))?;
            let exec = q.query_execution();
            let status = exec.and_then(|e| e.status());
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => {
                    out.bytes_scanned = exec
                        .and_then(|e| e.statistics())
                        .and_then(|s| s.data_scanned_in_bytes())
                        .unwrap_or(0)
                        .max(0) as u64;
                    break;
                }
                Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                    return Err(LiveError::QueryFailed {
                        id: id.clone(),
                        reason: status
                            .and_then(|s| s.state_change_reason())
                            .unwrap_or("no reason given")
                            .to_string(),
                    });
                }
                _ => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        let mut header: Option<Vec<String>> = None;
        let mut token: Option<String> = None;
        loop {
            let page = client
                .get_query_results()
                .query_execution_id(&id)
                .max_results(1000)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| explain(e, Call::GetQueryResults, &wg, &wg_arn))?;
            out.result_pages += 1;
            let rows = page.result_set().map(|r| r.rows()).unwrap_or_default();
            for row in rows {
                let values: Vec<Option<String>> = row
                    .data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_string))
                    .collect();
                match &header {
                    // The first row of the first page is the column names.
                    None => {
                        header = Some(
                            values
                                .into_iter()
                                .map(|v| v.unwrap_or_default().to_ascii_lowercase())
                                .collect(),
                        );
                    }
                    Some(h) => out.rows.push(h.iter().cloned().zip(values).collect()),
                }
            }
            token = page
                .next_token()
                .map(str::to_string)
                .filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        out.seconds = started.elapsed().as_secs_f64();
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workgroup_arn_takes_the_partition_of_the_region() {
        let config = |r: &'static str| {
            aws_config::SdkConfig::builder()
                .region(aws_config::Region::from_static(r))
                .build()
        };
        assert_eq!(
            workgroup_arn(&config("eu-west-1"), "primary"),
            "arn:aws:athena:*:*:workgroup/primary"
        );
        assert_eq!(
            workgroup_arn(&config("cn-north-1"), "primary"),
            "arn:aws-cn:athena:*:*:workgroup/primary"
        );
        assert_eq!(
            workgroup_arn(&aws_config::SdkConfig::builder().build(), "w"),
            "arn:aws:athena:*:*:workgroup/w"
        );
    }
}
