//! Every setting, read once from the environment at cold start. A bad value fails the start with
//! a message naming the variable; an absent one takes the documented default.

use std::collections::HashMap;
use time::Duration;

pub mod code_key;
mod error;
pub mod oidc;
pub mod sms;
pub mod tokens;
pub mod webauthn;

pub use code_key::CodeHashKey;
pub use error::ConfigError;
use oidc::OidcSettings;
use tokens::TokenSettings;

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub email_from: String,
    pub sms_sender_id: Option<String>,
    /// `SMS_ALLOWED_COUNTRIES`: the calling-code prefixes (`+1`, `+44`) SMS may go to.
    pub sms_allowed_prefixes: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub cookie_name: String,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// How long a signin's proven factor (`Signin::verified_at`) counts for sensitive operations
    /// (`REVERIFY_MINUTES`); after it they answer `403 REVERIFICATION_REQUIRED`.
    pub reverify: Duration,
    /// Fields a new user must have besides the identifier. A sign-up may start without them;
    /// they are then its `missing_fields`, supplied through `POST /auth/complete-profile`.
    pub required_fields: Vec<String>,
    pub signup_agreements_required: bool,
    /// `REQUIRE_SECOND_FACTOR` (default false): a signed-in user without a second factor may
    /// enroll one but not use the rest (`403 SECOND_FACTOR_REQUIRED`, see `http::gate`).
    pub require_second_factor: bool,
    /// `TOTP_ISSUER` (default `Sesame`): the name authenticator apps show for the account.
    pub totp_issuer: String,
    /// Where an `email_link` sign-up's email points: `<url>?signupCode=<code>`. Unset: the
    /// strategy is refused.
    pub signup_link_url: Option<String>,
    /// How long an emailed signup code stays valid.
    pub signup_link_ttl: Duration,
    pub admin_key: Option<String>,
    /// Where AWS calls go instead of AWS (emulators).
    pub aws_endpoints: Endpoints,
    pub aws_region: String,
    /// Key of the HMAC that one-time codes are stored under, or where to read it.
    pub code_hash_key: CodeHashKey,
    /// `CODE_QUEUE_URL`: the SQS queue sign-in codes go through to the `send-codes` function.
    /// Unset (the dev server), codes are handed to the notifier in the request.
    pub code_queue_url: Option<String>,
    pub limits: Limits,
    /// A failed password verification answers no sooner than this after it began (twice this
    /// when NFKC changes the password), so its time never tells accounts apart: more than the
    /// costliest imported hash takes to verify.
    pub password_failure_floor: std::time::Duration,
    pub oidc: OidcSettings,
    pub tokens: TokenSettings,
    /// `EVENT_BUS_NAME`: the EventBridge bus (name or ARN) the `events` function puts domain
    /// events on; the account's `default` bus unless set.
    pub event_bus_name: String,
    /// `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`: the passkeys' relying party (`webauthn.rs`);
    /// `None` (passkeys off) in Lambda without them.
    pub webauthn: Option<webauthn_rs::Webauthn>,
}

/// Endpoint overrides: `AWS_ENDPOINT_URL_<SERVICE>` for one service, else `AWS_ENDPOINT_URL`,
/// else AWS itself. The SDK's own names, so DynamoDB can go to one emulator and SES/SNS to another.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    /// `AWS_ENDPOINT_URL`: every service without its own.
    pub default: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SESV2`, `AWS_ENDPOINT_URL_SNS`.
    pub dynamodb: Option<String>,
    pub sesv2: Option<String>,
    pub sns: Option<String>,
    /// `AWS_ENDPOINT_URL_KMS`: where the signing key is sealed and unsealed.
    pub kms: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETSMANAGER`: where the code key is read.
    pub secretsmanager: Option<String>,
    pub sqs: Option<String>,
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE`: where the `events` function puts events.
    pub eventbridge: Option<String>,
}

impl Endpoints {
    /// The endpoint for `service` (`"dynamodb"`, `"sesv2"`, `"sns"` or `"kms"`); `None`: AWS itself.
    pub fn for_service(&self, service: &str) -> Option<&str> {
        let own = match service {
            "dynamodb" => &self.dynamodb,
            "sesv2" => &self.sesv2,
            "sns" => &self.sns,
            "kms" => &self.kms,
            "secretsmanager" => &self.secretsmanager,
            "sqs" => &self.sqs,
            "eventbridge" => &self.eventbridge,
            _ => &None,
        };
        own.as_deref().or(self.default.as_deref())
    }
}

/// Abuse limits. Windows are fixed and counted in the store, so they hold across Lambda instances.
#[derive(Clone, Debug)]
pub struct Limits {
    pub signups_per_ip_per_hour: u32,
    pub signins_per_ip_per_hour: u32,
    /// `complete-profile` and `completeSignup` requests per source IP.
    pub completions_per_ip_per_hour: u32,
    pub sends_per_destination_per_hour: u32,
    /// SMS sent to numbers under one allowed prefix (`SMS_ALLOWED_COUNTRIES`), all together.
    pub sms_per_prefix_per_hour: u32,
    /// Failed codes and passwords per account (all identifiers and routes together) per day.
    pub account_failures_per_day: u32,
}

/// `PASSWORD_FAILURE_FLOOR_MS` unset: above the up to 1.7 s the costliest hashes the import
/// accepts (bcrypt cost 14, 2,000,000 PBKDF2-SHA512 rounds, argon2 m=128 MiB, t=10, p=8) take to
/// verify on the CI machine (README, Measured).
pub const DEFAULT_PASSWORD_FAILURE_FLOOR_MS: u32 = 3000;

/// Fields `REQUIRED_FIELDS` may name.
pub const REQUIRABLE_FIELDS: [&str; 6] = [
    "email",
    "phone_number",
    "username",
    "password",
    "first_name",
    "last_name",
];

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map, so tests can build configurations without touching the process.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let in_lambda = get("AWS_LAMBDA_FUNCTION_NAME").is_some();

        let session_idle = days(get("SESSION_IDLE_DAYS"), "SESSION_IDLE_DAYS", 7)?;
        let session_max = days(get("SESSION_MAX_DAYS"), "SESSION_MAX_DAYS", 30)?;
        if session_idle > session_max {
            return Err(ConfigError {
                name: "SESSION_IDLE_DAYS",
                reason: "must not exceed SESSION_MAX_DAYS".into(),
            });
        }

        let reverify_minutes = number(get("REVERIFY_MINUTES"), "REVERIFY_MINUTES", 10)?;
        if reverify_minutes > 24 * 60 {
            return Err(ConfigError {
                name: "REVERIFY_MINUTES",
                reason: "must be between 1 and 1440".into(),
            });
        }

        let cookie_name = get("COOKIE_NAME").unwrap_or("__Host-session").to_string();
        if !cookie_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(ConfigError {
                name: "COOKIE_NAME",
                reason: "only letters, digits, '-', '_' and '.' are allowed".into(),
            });
        }

        let allowed_origins = list(get("ALLOWED_ORIGINS"));
        for origin in &allowed_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/');
            if !ok {
                return Err(ConfigError {
                    name: "ALLOWED_ORIGINS",
                    reason: format!("{origin:?} is not an origin like https://app.example.com"),
                });
            }
        }

        // Unset: a password is required. `none`: nothing beyond the identifier (passwordless).
        let required_fields = match get("REQUIRED_FIELDS") {
            None => vec!["password".to_string()],
            Some(v) if v.eq_ignore_ascii_case("none") => Vec::new(),
            Some(v) => list(Some(v)),
        };
        if let Some(bad) = required_fields
            .iter()
            .find(|f| !REQUIRABLE_FIELDS.contains(&f.as_str()))
        {
            return Err(ConfigError {
                name: "REQUIRED_FIELDS",
                reason: format!(
                    "unknown field {bad:?}; allowed: {}",
                    REQUIRABLE_FIELDS.join(", ")
                ),
            });
        }

        let code_hash_key = CodeHashKey::parse(
            get("CODE_HASH_KEY"),
            get("CODE_HASH_KEY_SECRET_ARN"),
            in_lambda,
        )?;

        let signup_link_url = match get("SIGNUP_LINK_URL") {
            Some(u) if url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "https" | "http")) => {
                Some(u.to_string())
            }
            Some(u) => {
                return Err(ConfigError {
                    name: "SIGNUP_LINK_URL",
                    reason: format!("{u:?} is not an http(s) URL"),
                });
            }
            None => None,
        };
        let signup_link_hours = number(get("SIGNUP_LINK_TTL_HOURS"), "SIGNUP_LINK_TTL_HOURS", 24)?;

        let oidc = oidc::parse(
            get("OIDC_PROVIDERS"),
            get("OIDC_CALLBACK_URL"),
            list(get("ALLOWED_REDIRECT_URIS")),
        )?;

        let tokens = tokens::parse(|name| get(name).map(str::to_string), in_lambda)?;

        let webauthn = webauthn::parse(get("WEBAUTHN_RP_ID"), get("WEBAUTHN_ORIGINS"), in_lambda)?;

        Ok(Self {
            webauthn,
            table_name: get("TABLE_NAME").unwrap_or("sesame").to_string(),
            event_bus_name: get("EVENT_BUS_NAME").unwrap_or("default").to_string(),
            email_from: get("EMAIL_FROM")
                .unwrap_or("no-reply@example.com")
                .to_string(),
            sms_sender_id: get("SMS_SENDER_ID").map(str::to_string),
            sms_allowed_prefixes: sms::parse(get("SMS_ALLOWED_COUNTRIES"))?,
            allowed_origins,
            cookie_name,
            session_idle,
            session_max,
            reverify: Duration::minutes(i64::from(reverify_minutes)),
            required_fields,
            signup_agreements_required: flag(
                get("SIGNUP_AGREEMENTS_REQUIRED"),
                "SIGNUP_AGREEMENTS_REQUIRED",
            )?,
            require_second_factor: flag(get("REQUIRE_SECOND_FACTOR"), "REQUIRE_SECOND_FACTOR")?,
            totp_issuer: get("TOTP_ISSUER")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("Sesame")
                .to_string(),
            signup_link_url,
            signup_link_ttl: Duration::hours(i64::from(signup_link_hours)),
            // Dev server only: in Lambda the admin route is authorized by IAM, never by a key.
            admin_key: get("ADMIN_KEY").filter(|_| !in_lambda).map(str::to_string),
            aws_endpoints: Endpoints {
                default: get("AWS_ENDPOINT_URL").map(str::to_string),
                dynamodb: get("AWS_ENDPOINT_URL_DYNAMODB").map(str::to_string),
                sesv2: get("AWS_ENDPOINT_URL_SESV2").map(str::to_string),
                sns: get("AWS_ENDPOINT_URL_SNS").map(str::to_string),
                kms: get("AWS_ENDPOINT_URL_KMS").map(str::to_string),
                secretsmanager: get("AWS_ENDPOINT_URL_SECRETSMANAGER").map(str::to_string),
                sqs: get("AWS_ENDPOINT_URL_SQS").map(str::to_string),
                eventbridge: get("AWS_ENDPOINT_URL_EVENTBRIDGE").map(str::to_string),
            },
            aws_region: get("AWS_REGION")
                .or(get("AWS_DEFAULT_REGION"))
                .unwrap_or("us-east-1")
                .to_string(),
            code_hash_key,
            code_queue_url: get("CODE_QUEUE_URL")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            limits: Limits {
                signups_per_ip_per_hour: number(
                    get("LIMIT_SIGNUPS_PER_IP_PER_HOUR"),
                    "LIMIT_SIGNUPS_PER_IP_PER_HOUR",
                    20,
                )?,
                signins_per_ip_per_hour: number(
                    get("LIMIT_SIGNINS_PER_IP_PER_HOUR"),
                    "LIMIT_SIGNINS_PER_IP_PER_HOUR",
                    100,
                )?,
                completions_per_ip_per_hour: number(
                    get("LIMIT_COMPLETIONS_PER_IP_PER_HOUR"),
                    "LIMIT_COMPLETIONS_PER_IP_PER_HOUR",
                    20,
                )?,
                sends_per_destination_per_hour: number(
                    get("LIMIT_SENDS_PER_DESTINATION_PER_HOUR"),
                    "LIMIT_SENDS_PER_DESTINATION_PER_HOUR",
                    10,
                )?,
                sms_per_prefix_per_hour: number(
                    get("LIMIT_SMS_PER_PREFIX_PER_HOUR"),
                    "LIMIT_SMS_PER_PREFIX_PER_HOUR",
                    100,
                )?,
                account_failures_per_day: number(
                    get("LIMIT_ACCOUNT_FAILURES_PER_DAY"),
                    "LIMIT_ACCOUNT_FAILURES_PER_DAY",
                    50,
                )?,
            },
            password_failure_floor: std::time::Duration::from_millis(
                number(
                    get("PASSWORD_FAILURE_FLOOR_MS"),
                    "PASSWORD_FAILURE_FLOOR_MS",
                    DEFAULT_PASSWORD_FAILURE_FLOOR_MS,
                )?
                .into(),
            ),
            oidc,
            tokens,
        })
    }

    /// A configuration for tests: defaults plus the given overrides, except a 20 ms failure
    /// floor unless they set one (a test of many wrong passwords would take seconds each), and
    /// SMS to `+1` and `+44` (the numbers tests use).
    pub fn for_tests(overrides: &[(&str, &str)]) -> Self {
        let vars = [
            ("PASSWORD_FAILURE_FLOOR_MS", "20"),
            ("SMS_ALLOWED_COUNTRIES", "+1,+44"),
        ]
        .iter()
        .chain(overrides)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self::from_vars(&vars).expect("test configuration is valid")
    }
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(value: Option<&str>, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or(ConfigError {
            name,
            reason: format!("{v:?} is not a positive whole number"),
        }),
    }
}

fn days(value: Option<&str>, name: &'static str, default: u32) -> Result<Duration, ConfigError> {
    number(value, name, default).map(|d| Duration::days(d.into()))
}

fn flag(value: Option<&str>, name: &'static str) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ConfigError {
            name,
            reason: format!("{other:?} is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn when_nothing_is_set_the_documented_defaults_apply() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.cookie_name, "__Host-session");
        assert_eq!(c.session_idle, Duration::days(7));
        assert_eq!(c.reverify, Duration::minutes(10));
        assert_eq!(c.session_max, Duration::days(30));
        assert_eq!(c.table_name, "sesame");
        assert!(c.allowed_origins.is_empty());
        assert_eq!(c.code_hash_key.bytes().map(<[u8]>::len), Some(32));
        assert_eq!(c.limits.account_failures_per_day, 50);
    }

    #[test]
    fn when_a_setting_is_bad_the_error_names_it() {
        for (name, value) in [
            ("SESSION_IDLE_DAYS", "seven"),
            ("ALLOWED_ORIGINS", "app.example.com"),
            ("REQUIRED_FIELDS", "shoe_size"),
            ("CODE_HASH_KEY", "abcd"),
            ("COOKIE_NAME", "a;b"),
            ("SIGNUP_AGREEMENTS_REQUIRED", "maybe"),
            ("REQUIRE_SECOND_FACTOR", "sometimes"),
            ("LIMIT_ACCOUNT_FAILURES_PER_DAY", "0"),
            ("LIMIT_ACCOUNT_FAILURES_PER_DAY", "fifty"),
        ] {
            let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
    }

    #[test]
    fn when_running_in_lambda_the_code_key_is_never_a_random_one() {
        let lambda = ("AWS_LAMBDA_FUNCTION_NAME", "get-session");
        let kms = ("SIGNING_KEY_KMS_KEY_ID", "arn:aws:kms:us-east-1:1:key/k");
        let c = Config::from_vars(&vars(&[lambda, kms])).unwrap();
        assert_eq!(c.code_hash_key, CodeHashKey::Absent);
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:code-key";
        let c =
            Config::from_vars(&vars(&[lambda, kms, ("CODE_HASH_KEY_SECRET_ARN", arn)])).unwrap();
        assert_eq!(c.code_hash_key, CodeHashKey::Secret(arn.into()));
    }

    #[test]
    fn when_a_service_has_its_own_endpoint_it_wins_over_the_shared_one() {
        let c = Config::from_vars(&vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ]))
        .unwrap();
        let e = &c.aws_endpoints;
        assert_eq!(e.for_service("dynamodb"), Some("http://127.0.0.1:8000"));
        assert_eq!(e.for_service("sesv2"), Some("http://127.0.0.1:5000"));
        assert_eq!(e.for_service("sns"), Some("http://127.0.0.1:5000"));
        let none = Config::from_vars(&vars(&[("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:5000")]))
            .unwrap()
            .aws_endpoints;
        assert_eq!(none.for_service("sns"), Some("http://127.0.0.1:5000"));
        assert_eq!(none.for_service("dynamodb"), None, "AWS itself");
    }

    #[test]
    fn when_reverify_minutes_is_zero_or_over_a_day_the_start_fails() {
        for bad in ["0", "1441", "ten"] {
            let err = Config::from_vars(&vars(&[("REVERIFY_MINUTES", bad)])).unwrap_err();
            assert_eq!(err.name, "REVERIFY_MINUTES", "{bad}");
        }
        let c = Config::from_vars(&vars(&[("REVERIFY_MINUTES", "30")])).unwrap();
        assert_eq!(c.reverify, Duration::minutes(30));
    }

    #[test]
    fn when_idle_exceeds_max_lifetime_the_start_fails() {
        let err = Config::from_vars(&vars(&[("SESSION_IDLE_DAYS", "40")])).unwrap_err();
        assert_eq!(err.name, "SESSION_IDLE_DAYS");
    }
}
