//! The S3 delivery layout, `AWSLogs/[ORG-ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`, read
//! from a path so that whole files can be skipped before they are opened.

use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutInfo {
    pub account: String,
    pub region: String,
    pub date: NaiveDate,
}

/// Reads account, region and day from a path in the CloudTrail S3 layout; `None` when the path
/// is not in that layout.
pub fn layout_info(path: &str) -> Option<LayoutInfo> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let i = parts.iter().rposition(|p| *p == "CloudTrail")?;
    if i == 0 {
        return None;
    }
    let account = parts[i - 1];
    let region = parts.get(i + 1)?;
    let (y, m, d) = (parts.get(i + 2)?, parts.get(i + 3)?, parts.get(i + 4)?);
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(LayoutInfo {
        account: account.to_string(),
        region: (*region).to_string(),
        date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_layout() {
        let p = "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/02/x.json.gz";
        let l = layout_info(p);
        assert_eq!(l.as_ref().map(|l| l.account.as_str()), Some("111122223333"));
        assert_eq!(l.as_ref().map(|l| l.region.as_str()), Some("eu-west-1"));
        assert_eq!(
            l.map(|l| l.date.to_string()),
            Some("2026-11-02".to_string())
        );
        assert!(layout_info("some/file.json").is_none());
        assert!(layout_info("AWSLogs/abc/CloudTrail/r/2026/13/01/x").is_none());
    }
}
