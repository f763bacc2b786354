//! Query strings of listings: Auth0's offset paging (`page`, `per_page`, `include_totals`),
//! checkpoint paging (`from`, `take`, answered with `next`), and `fields`/`include_fields`.
//! Parameters Gatehouse does not know are ignored, as SDKs send some on every call; the known
//! ones are checked and a bad value is a 400 naming it.

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use serde::Serialize;
use serde_json::Value;

use super::reply::json_body;
use crate::domain::FieldError;
use crate::error::ApiError;

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 100;
/// Deep offsets cost the database; nobody pages this far through a tenant's configuration.
const MAX_PAGE: i64 = 100_000;

/// The decoded query string, keeping repeated parameters.
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// A 400 naming the query parameter `field`.
pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_query(FieldError::new(field, message))
}

impl Query {
    pub fn parse(req: &HttpRequest) -> Self {
        Query {
            pairs: url::form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Every value of a repeatable parameter (`strategy=a&strategy=b` or `strategy=a,b`).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The value of a parameter given at most once, at most `max` characters, as sent (an
    /// empty value included).
    pub fn raw(&self, key: &str, max: usize) -> Result<Option<String>, ApiError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == key);
        let first = values.next().map(|(_, v)| v.clone());
        if values.next().is_some() {
            return Err(invalid(key, "must be given at most once"));
        }
        match first {
            Some(v) if v.chars().count() > max => {
                Err(invalid(key, format!("must be at most {max} characters")))
            }
            other => Ok(other),
        }
    }

    /// This query string, encoded, with `key` set to `value` (every earlier value replaced);
    /// as it was if `value` is `None`.
    pub fn encode_with(&self, key: &str, value: Option<String>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if value.is_none() || k != key {
                out.append_pair(k, v);
            }
        }
        if let Some(value) = &value {
            out.append_pair(key, value);
        }
        out.finish()
    }

    /// A free-text parameter (a filter); an empty value means "not given".
    pub fn text(&self, key: &str, max: usize) -> Result<Option<String>, ApiError> {
        Ok(self.raw(key, max)?.filter(|v| !v.is_empty()))
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key, 5)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(invalid(key, "must be true or false")),
        }
    }

    pub fn integer(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.raw(key, 12)? {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(
                    key,
                    format!("must be an integer from {min} to {max}"),
                )),
            },
        }
    }
}

/// Offset paging only (listings without checkpoints): `(page, per_page, include_totals)`.
pub fn offset(q: &Query) -> Result<(i64, i64, bool), ApiError> {
    Ok((
        q.integer("page", 0, MAX_PAGE)?.unwrap_or(0),
        q.integer("per_page", 1, MAX_PER_PAGE)?
            .unwrap_or(DEFAULT_PER_PAGE),
        q.boolean("include_totals")?.unwrap_or(false),
    ))
}

/// How a listing is paged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `page` (from 0) of `per_page`; with totals the answer is an object, else a bare array.
    Offset {
        page: i64,
        per_page: i64,
        include_totals: bool,
    },
    /// Up to `take` items after the checkpoint `from` (the `next` of the previous page).
    Checkpoint { from: Option<String>, take: i64 },
}

impl Paging {
    /// Reads the paging parameters of a listing that supports both styles.
    pub fn parse(q: &Query) -> Result<Self, ApiError> {
        let page = q.integer("page", 0, MAX_PAGE)?;
        let per_page = q.integer("per_page", 1, MAX_PER_PAGE)?;
        let include_totals = q.boolean("include_totals")?.unwrap_or(false);
        let from = q.text("from", 200)?;
        let take = q.integer("take", 1, MAX_PER_PAGE)?;
        if from.is_none() && take.is_none() {
            return Ok(Paging::Offset {
                page: page.unwrap_or(0),
                per_page: per_page.unwrap_or(DEFAULT_PER_PAGE),
                include_totals,
            });
        }
        if page.is_some() || per_page.is_some() {
            return Err(invalid(
                "from",
                "checkpoint paging (from, take) cannot be combined with page or per_page",
            ));
        }
        Ok(Paging::Checkpoint {
            from,
            take: take.unwrap_or(DEFAULT_PER_PAGE),
        })
    }
}

/// A page of a listing with its totals.
#[derive(Serialize)]
struct OffsetPage<'a> {
    start: i64,
    limit: i64,
    total: i64,
    #[serde(flatten)]
    items: Listed<'a>,
}

/// A page of a listing read from a checkpoint; `next` is the checkpoint of the page after it.
#[derive(Serialize)]
struct CheckpointPage<'a> {
    #[serde(flatten)]
    items: Listed<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The items of a page under the listing's own name (`users`, `clients`, ...): one entry.
type Listed<'a> = BTreeMap<&'a str, Vec<Value>>;

/// The answer to an offset-paged listing: a bare array, or `{start, limit, total, <key>}`.
pub fn offset_answer(
    key: &str,
    items: Vec<Value>,
    page: i64,
    per_page: i64,
    total: Option<i64>,
) -> Value {
    match total {
        None => Value::Array(items),
        Some(total) => json_body(&OffsetPage {
            start: page * per_page,
            limit: per_page,
            total,
            items: BTreeMap::from([(key, items)]),
        }),
    }
}

/// The answer to a checkpoint-paged listing: `{<key>, next}`, without `next` on the last page.
/// `ids` are the ids of the page fetched with one extra row, which says whether more follow.
pub fn checkpoint_answer(key: &str, mut items: Vec<Value>, ids: &[String], take: i64) -> Value {
    let take = usize::try_from(take).unwrap_or(0);
    let next = (items.len() > take)
        .then(|| ids.get(take.saturating_sub(1)).cloned())
        .flatten();
    items.truncate(take);
    json_body(&CheckpointPage {
        items: BTreeMap::from([(key, items)]),
        next,
    })
}

/// `fields=a,b` with `include_fields=true|false`: which properties of each object to answer.
pub struct FieldSelection {
    fields: Vec<String>,
    include: bool,
}

impl FieldSelection {
    pub fn parse(q: &Query) -> Result<Self, ApiError> {
        let fields: Vec<String> = q
            .text("fields", 1000)?
            .map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if fields
            .iter()
            .any(|f| !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(invalid(
                "fields",
                "must be a comma-separated list of property names",
            ));
        }
        Ok(FieldSelection {
            fields,
            include: q.boolean("include_fields")?.unwrap_or(true),
        })
    }

    pub fn apply(&self, value: Value) -> Value {
        match value {
            Value::Object(map) if !self.fields.is_empty() => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| self.fields.contains(k) == self.include)
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde_json::json;

    fn query(qs: &str) -> Query {
        Query::parse(&TestRequest::with_uri(&format!("/x?{qs}")).to_http_request())
    }

    #[test]
    fn paging_defaults_limits_and_styles() {
        assert_eq!(
            Paging::parse(&query("")).unwrap(),
            Paging::Offset {
                page: 0,
                per_page: 50,
                include_totals: false
            }
        );
        assert!(Paging::parse(&query("per_page=101")).is_err());
        assert!(Paging::parse(&query("page=-1")).is_err());
        assert!(Paging::parse(&query("page=x")).is_err());
        assert!(
            Paging::parse(&query("page=")).is_err(),
            "typed parameters are never empty"
        );
        assert_eq!(query("name=").text("name", 9).unwrap(), None);
        assert_eq!(
            Paging::parse(&query("take=2&from=abc")).unwrap(),
            Paging::Checkpoint {
                from: Some("abc".into()),
                take: 2
            }
        );
        assert!(Paging::parse(&query("take=2&page=1")).is_err());
        assert_eq!(
            query("strategy=a&strategy=b,c").all("strategy"),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn a_query_string_with_one_parameter_replaced() {
        let q = query("take=2&from=a&type=login%20x&from=b");
        assert_eq!(
            q.encode_with("from", Some("c d".into())),
            "take=2&type=login+x&from=c+d"
        );
        assert_eq!(
            q.encode_with("from", None),
            "take=2&from=a&type=login+x&from=b"
        );
        assert_eq!(query("").encode_with("from", Some("x".into())), "from=x");
    }

    #[test]
    fn the_last_checkpoint_page_has_no_next() {
        let ids: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let items = ids.iter().map(|i| json!(i)).collect::<Vec<_>>();
        let more = checkpoint_answer("x", items.clone(), &ids, 2);
        assert_eq!(more, json!({"x": ["a", "b"], "next": "b"}));
        let last = checkpoint_answer("x", items, &ids, 3);
        assert_eq!(last, json!({"x": ["a", "b", "c"]}));
    }

    #[test]
    fn fields_are_included_or_excluded() {
        let v = json!({"id": 1, "name": "n", "options": {}});
        let only = FieldSelection::parse(&query("fields=id,name")).unwrap();
        assert_eq!(only.apply(v.clone()), json!({"id": 1, "name": "n"}));
        let without = FieldSelection::parse(&query("fields=options&include_fields=false")).unwrap();
        assert_eq!(without.apply(v), json!({"id": 1, "name": "n"}));
    }
}
