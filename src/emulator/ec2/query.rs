//! EC2 Query requests: a form body of `Action=…&Version=…` plus indexed lists
//! (`InstanceId.1`, `Filter.1.Name`, `Filter.1.Value.1`), as the SDKs and the CLI send them.

use std::collections::BTreeMap;

use super::Ec2Error;

pub struct Query {
    params: BTreeMap<String, String>,
}

/// One `Filter.N`: a name and its values (any of which may match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Query {
    pub fn parse(body: &[u8]) -> Self {
        Self {
            params: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// `PREFIX.1`, `PREFIX.2`, … in index order (indexes need not be contiguous).
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let mut indexed: Vec<(u32, &String)> = self
            .params
            .iter()
            .filter_map(|(key, value)| {
                let index = key.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()?;
                Some((index, value))
            })
            .collect();
        indexed.sort_by_key(|(index, _)| *index);
        indexed
            .into_iter()
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// `PREFIX.N.FIELD…` grouped by `N` in index order, each as a query of its own with the
    /// `FIELD…` keys: how structures inside lists (`IpPermissions.1.IpRanges.2.CidrIp`)
    /// are read, at any depth.
    pub fn structs(&self, prefix: &str) -> Vec<Query> {
        let mut by_index: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in &self.params {
            let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            by_index
                .entry(index)
                .or_default()
                .insert(field.to_owned(), value.clone());
        }
        by_index
            .into_values()
            .map(|params| Query { params })
            .collect()
    }

    /// All `Filter.N` entries, each with a name and at least one value, in index order.
    pub fn filters(&self) -> Result<Vec<Filter>, Ec2Error> {
        collect_filters(
            self.params
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        )
    }

    /// `MaxResults` within `range`, in AWS's words when it is not.
    pub fn max_results(
        &self,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<Option<usize>, Ec2Error> {
        let Some(text) = self.get("MaxResults") else {
            return Ok(None);
        };
        match text.parse::<usize>() {
            Ok(value) if range.contains(&value) => Ok(Some(value)),
            _ => Err(Ec2Error::invalid_parameter(format!(
                "Value ( {} ) for parameter maxResults is invalid. Expecting a value between {} and {}.",
                printable(text),
                range.start(),
                range.end()
            ))),
        }
    }

    pub fn start_offset(&self) -> Result<usize, Ec2Error> {
        match self.get("NextToken") {
            None | Some("") => Ok(0),
            Some(token) => crate::emulator::pagination::decode(token).ok_or_else(|| {
                Ec2Error::invalid_parameter("The token provided is invalid (NextToken).".to_owned())
            }),
        }
    }
}

/// EC2 refuses a call with more filter values than this, all filters together, with
/// `FilterLimitExceeded` (HTTP 400). The EC2 API reference lists the code ("The request uses
/// too many filters or too many filter values", Error codes for the Amazon EC2 API) but not the
/// number; the number and message are what EC2 answers, as quoted in gjbae1212/gossm#47 and
/// convox/rack#2205 (DescribeInstances with more than 200 values).
pub const MAX_FILTER_VALUES: usize = 200;

/// `Filter.N.Name` and `Filter.N.Value.M` grouped by `N`, in ONE pass over the parameters:
/// each key is looked at once and filed under its index, so the work is linear in the
/// request (looking each index's name and values up again in all the parameters made a
/// 1 MiB body of 25,000 filters cost seconds). Stops as soon as the values pass AWS's limit.
fn collect_filters<'q>(
    params: impl Iterator<Item = (&'q str, &'q str)>,
) -> Result<Vec<Filter>, Ec2Error> {
    #[derive(Default)]
    struct Indexed<'q> {
        name: Option<&'q str>,
        values: Vec<(u32, &'q str)>,
    }
    let mut by_index: BTreeMap<u32, Indexed<'q>> = BTreeMap::new();
    let mut value_count = 0usize;
    for (key, value) in params {
        let Some(rest) = key.strip_prefix("Filter.") else {
            continue;
        };
        let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        let entry = by_index.entry(index).or_default();
        if field == "Name" {
            entry.name.get_or_insert(value);
        } else if let Some(position) = field
            .strip_prefix("Value.")
            .and_then(|position| position.parse::<u32>().ok())
        {
            value_count += 1;
            if value_count > MAX_FILTER_VALUES {
                return Err(Ec2Error::new(
                    "FilterLimitExceeded",
                    format!(
                        "The maximum number of filter values specified on a single call is {MAX_FILTER_VALUES}"
                    ),
                ));
            }
            entry.values.push((position, value));
        }
    }
    by_index
        .into_iter()
        .map(|(index, mut indexed)| {
            let name = indexed.name.ok_or_else(|| {
                Ec2Error::new(
                    "MissingParameter",
                    format!("The request must contain the parameter Filter.{index}.Name"),
                )
            })?;
            if indexed.values.is_empty() {
                return Err(Ec2Error::invalid_parameter(format!(
                    "The filter '{}' has no values",
                    printable(name)
                )));
            }
            indexed.values.sort_by_key(|(position, _)| *position);
            Ok(Filter {
                name: name.to_owned(),
                values: indexed
                    .values
                    .into_iter()
                    .map(|(_, value)| value.to_owned())
                    .collect(),
            })
        })
        .collect()
}

/// Client text echoed in an error: control characters removed, length bounded.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn indexed_lists_and_filters_are_collected_in_order() {
        let query = Query::parse(
            b"Action=DescribeInstances&InstanceId.2=i-b&InstanceId.1=i-a&InstanceId.10=i-c\
              &Filter.2.Name=tag%3AEnv&Filter.2.Value.1=dev&Filter.2.Value.2=stg&Filter.1.Name=tag-key&Filter.1.Value.1=Team",
        );
        assert_eq!(query.get("Action"), Some("DescribeInstances"));
        assert_eq!(query.list("InstanceId"), ["i-a", "i-b", "i-c"]);
        let filters = query.filters().unwrap();
        assert_eq!(filters[0].name, "tag-key");
        assert_eq!(filters[1].name, "tag:Env");
        assert_eq!(filters[1].values, ["dev", "stg"]);
    }

    #[test]
    fn filters_without_name_or_values_are_rejected() {
        let no_name = Query::parse(b"Filter.1.Value.1=x");
        assert_eq!(no_name.filters().unwrap_err().code, "MissingParameter");
        let no_values = Query::parse(b"Filter.1.Name=tag-key");
        assert_eq!(
            no_values.filters().unwrap_err().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn filter_parsing_reads_each_parameter_once() {
        // 25,000 pairs, far over the limit, and 20,000 pairs that are not filters: the
        // parser pulls each pair from its input exactly once (or stops early), never going
        // back over all the parameters per filter as it once did.
        let mut params: Vec<(String, String)> = (1..=20_000)
            .map(|i| (format!("InstanceId.{i}"), format!("i-{i}")))
            .collect();
        params.extend((1..=25_000).map(|i| (format!("Filter.{i}.Value.1"), "x".to_owned())));
        let pulled = std::cell::Cell::new(0usize);
        let counted = params.iter().map(|(key, value)| {
            pulled.set(pulled.get() + 1);
            (key.as_str(), value.as_str())
        });
        let err = collect_filters(counted).unwrap_err();
        assert_eq!(err.code, "FilterLimitExceeded");
        assert_eq!(pulled.get(), 20_000 + MAX_FILTER_VALUES + 1);

        // Within the limit: every pair once, and nothing more.
        let within: Vec<(String, String)> = (1..=100)
            .flat_map(|i| {
                [
                    (format!("Filter.{i}.Name"), "tag-key".to_owned()),
                    (format!("Filter.{i}.Value.1"), "a".to_owned()),
                    (format!("Filter.{i}.Value.2"), "b".to_owned()),
                ]
            })
            .collect();
        pulled.set(0);
        let counted = within.iter().map(|(key, value)| {
            pulled.set(pulled.get() + 1);
            (key.as_str(), value.as_str())
        });
        assert_eq!(collect_filters(counted).unwrap().len(), 100);
        assert_eq!(pulled.get(), 300);
    }

    #[test]
    fn filter_values_are_limited_as_in_ec2() {
        let values = |count: usize| {
            let mut body = "Action=DescribeInstances&Filter.1.Name=tag-key".to_owned();
            for i in 1..=count {
                body.push_str(&format!(
                    "&Filter.{}.Name=tag-key&Filter.{}.Value.1=v",
                    i + 1,
                    i + 1
                ));
            }
            Query::parse(body.as_bytes()).filters()
        };
        // Filter.1 has a name and no value: at the limit that is the error, over it the limit.
        assert_eq!(
            values(MAX_FILTER_VALUES).unwrap_err().code,
            "InvalidParameterValue"
        );
        let err = values(MAX_FILTER_VALUES + 1).unwrap_err();
        assert_eq!(err.code, "FilterLimitExceeded");
        assert_eq!(
            err.message,
            "The maximum number of filter values specified on a single call is 200"
        );
    }

    #[test]
    fn max_results_is_range_checked() {
        assert_eq!(
            Query::parse(b"MaxResults=5").max_results(5..=1000).unwrap(),
            Some(5)
        );
        assert!(Query::parse(b"MaxResults=4").max_results(5..=1000).is_err());
        assert!(Query::parse(b"MaxResults=x").max_results(5..=1000).is_err());
        assert_eq!(Query::parse(b"").max_results(5..=1000).unwrap(), None);
    }
}

#[cfg(test)]
mod props {
    use super::Query;
    use crate::emulator::ec2::{images, instances};
    use crate::emulator::fleet::Fleet;
    use proptest::prelude::*;

    fn param() -> impl Strategy<Value = (String, String)> {
        let key = prop_oneof![
            Just("InstanceId.1".to_owned()),
            Just("InstanceId.x".to_owned()),
            Just("ImageId.1".to_owned()),
            "Filter\\.[0-9]{1,3}\\.Name",
            "Filter\\.[0-9]{1,3}\\.Value\\.[0-9]{1,3}",
            Just("MaxResults".to_owned()),
            Just("NextToken".to_owned()),
            "\\PC{0,12}",
        ];
        (key, "\\PC{0,24}")
    }

    proptest! {
        /// Whatever a client sends, the answer is a document or an AWS error, never a panic.
        #[test]
        fn arbitrary_queries_get_a_response_or_an_aws_error(params in proptest::collection::vec(param(), 0..8)) {
            let fleet = Fleet::demo();
            let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            let query = Query::parse(body.as_bytes());
            for result in [
                instances::describe_instances(&fleet, crate::emulator::fleet::Place { account: crate::emulator::fleet::ACCOUNT_ID, region: "us-east-1" }, &query, "r"),
                images::describe_images(&fleet, &query, "r"),
            ] {
                if let Err(err) = result {
                    prop_assert!(err.code.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
                    prop_assert!(!err.message.chars().any(char::is_control));
                }
            }
        }
    }
}
