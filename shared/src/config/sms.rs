//! `SMS_ALLOWED_COUNTRIES`: the E.164 calling-code prefixes SMS may go to.

use super::ConfigError;

/// Unset: North America (`+1`) only. SMS pumping sends codes to premium-rate ranges anywhere in
/// the world, so a deployment opts into the countries it serves rather than out of the others.
pub const DEFAULT_SMS_ALLOWED_COUNTRIES: &str = "+1";

/// Comma-separated prefixes such as `+1,+44,+4930`: `+` and 1 to 7 digits, not starting with 0.
pub fn parse(value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let value = value.unwrap_or(DEFAULT_SMS_ALLOWED_COUNTRIES);
    let mut prefixes = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let digits = entry.strip_prefix('+').unwrap_or("");
        let ok = (1..=7).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(ConfigError {
                name: "SMS_ALLOWED_COUNTRIES",
                reason: format!("{entry:?} is not a calling-code prefix like +1 or +44"),
            });
        }
        prefixes.push(entry.to_string());
    }
    if prefixes.is_empty() {
        return Err(ConfigError {
            name: "SMS_ALLOWED_COUNTRIES",
            reason: "lists no prefix".into(),
        });
    }
    Ok(prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_unset_only_north_america_is_allowed() {
        assert_eq!(parse(None).unwrap(), ["+1"]);
        assert_eq!(parse(Some(" +1, +44 ")).unwrap(), ["+1", "+44"]);
    }

    #[test]
    fn when_an_entry_is_not_a_prefix_the_setting_is_named() {
        for bad in ["44", "+", "+0", "+12345678", "+4a", ","] {
            assert_eq!(
                parse(Some(bad)).unwrap_err().name,
                "SMS_ALLOWED_COUNTRIES",
                "{bad}"
            );
        }
    }
}
