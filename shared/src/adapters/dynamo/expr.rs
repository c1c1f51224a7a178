//! A small builder for update and condition expressions with their placeholder maps.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub(super) struct Expr {
    update: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn new(update: &str) -> Self {
        Self {
            update: update.to_string(),
            condition: None,
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// Adds to the update expression, e.g. `, #x = :x` or ` REMOVE #y`.
    pub fn append(mut self, more: &str) -> Self {
        self.update.push_str(more);
        self
    }

    pub fn replace_update(mut self, update: &str) -> Self {
        self.update = update.to_string();
        self
    }

    pub fn condition(mut self, condition: &str) -> Self {
        self.condition = Some(condition.to_string());
        self
    }

    /// Adds a clause the condition also requires (the whole condition, when there is none).
    pub fn and_condition(mut self, more: &str) -> Self {
        self.condition = Some(match self.condition.take() {
            Some(c) => format!("{c} AND {more}"),
            None => more.to_string(),
        });
        self
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_string(), attribute.to_string());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_string(), value);
        self
    }

    #[allow(clippy::type_complexity)]
    pub fn into_parts(
        self,
    ) -> (
        String,
        Option<String>,
        HashMap<String, String>,
        HashMap<String, AttributeValue>,
    ) {
        (self.update, self.condition, self.names, self.values)
    }
}
