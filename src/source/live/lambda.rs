//! The Lambda inventory from `ListFunctions`: function name → role, in every selected region.

use super::Live;
use super::error::{AwsError, Call, explain};
use crate::identity::{Inventory, InventoryFunction};

/// Lists every function in every region of `live` (all pages).
pub fn inventory(live: &Live) -> Result<Inventory, AwsError> {
    let mut inv = Inventory::default();
    add_inventory(live, &mut inv)?;
    Ok(inv)
}

/// Adds every function of every region of `live` to `inv` (all pages).
pub fn add_inventory(live: &Live, inv: &mut Inventory) -> Result<(), AwsError> {
    live.runtime.block_on(async {
        for region in &live.regions {
            let client = aws_sdk_lambda::Client::new(&live.config_for(region));
            let mut marker: Option<String> = None;
            loop {
                let page = client
                    .list_functions()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        explain(e, Call::ListFunctions, &format!("region {region}"), "*")
                    })?;
                for f in page.functions() {
                    let Some(name) = f.function_name() else {
                        continue;
                    };
                    let role = f.role().map(str::to_string);
                    match inv.functions.get_mut(name) {
                        // The same name in another region with another role: attribution
                        // by name still holds, but no one role is the function's.
                        Some(known) if known.role != role => known.role = None,
                        Some(_) => {}
                        None => {
                            inv.functions.insert(
                                name.to_string(),
                                InventoryFunction {
                                    name: name.to_string(),
                                    arn: f.function_arn().map(str::to_string),
                                    role,
                                    ..InventoryFunction::default()
                                },
                            );
                        }
                    }
                }
                marker = page
                    .next_marker()
                    .map(str::to_string)
                    .filter(|m| !m.is_empty());
                if marker.is_none() {
                    break;
                }
            }
        }
        Ok(())
    })
}
