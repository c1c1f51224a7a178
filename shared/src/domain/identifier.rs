//! A sign-in identifier: an email address, an E.164 phone number or a username, told apart by
//! their shape, normalized as sign-up stored them, and looked up through their uniqueness claim.

use super::error::FieldError;
use super::model::Claim;
use super::validation;

pub fn parse(value: &str) -> Result<Claim, FieldError> {
    let v = value.trim();
    let field = |mut e: FieldError| {
        e.field = Some("identifier".into());
        e.message = "must be an email address, a phone number in E.164 form, or a username".into();
        e
    };
    if v.contains('@') {
        validation::email(v).map(Claim::Email).map_err(field)
    } else if v.starts_with('+') {
        validation::phone_number(v).map(Claim::Phone).map_err(field)
    } else {
        validation::username(v).map(Claim::Username).map_err(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_an_identifier_is_parsed_its_shape_picks_the_claim() {
        assert_eq!(
            parse(" Ada@Example.com ").unwrap(),
            Claim::Email("ada@example.com".into())
        );
        assert_eq!(
            parse("+1 415 555 0123").unwrap(),
            Claim::Phone("+14155550123".into())
        );
        assert_eq!(
            parse("Countess").unwrap(),
            Claim::Username("Countess".into())
        );
        assert_eq!(
            parse("not an identifier").unwrap_err().field.as_deref(),
            Some("identifier")
        );
    }
}
