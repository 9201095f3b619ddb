//! The protocol core and the emulator's request parsers, compiled from the main crate's
//! sources (`src/proto/`, `src/emulator/…`), plus the checks the fuzz targets call.
//! `src/proto/` is sans-IO and refers to itself as `crate::proto`, so it builds here
//! unchanged; the emulator files are included under the module paths they have in the main
//! crate (see `emulator` below).

#[path = "../../src/proto/mod.rs"]
pub mod proto;

// `ec2/error.rs` names its status type `hyper::StatusCode`, which hyper re-exports from
// `http`: an extern crate alias at the root lets that path resolve without building hyper.
extern crate http as hyper;

use std::time::{Duration, Instant};

use proto::{Frame, SeededIds, Session, SessionConfig};

/// Decoding never panics, strict or lenient. Whatever the strict decoder accepts the lenient
/// one (the receivers', §2.1) accepts as the same frame. Whatever decodes strictly re-encodes
/// to a frame that decodes to the same value, and every fixed-width field comes back byte for
/// byte; only the MessageType padding (NULs vs spaces) and the digest of an empty payload
/// (unchecked, §2.1) may be normalised.
pub fn check_frame_decode(data: &[u8]) {
    let received = Frame::decode_received(data);
    let Ok(frame) = Frame::decode(data) else {
        return;
    };
    assert_eq!(received.map(|received| received.frame).as_ref(), Ok(&frame));
    let encoded = frame.encode();
    assert_eq!(encoded.len(), data.len());
    assert_eq!(Frame::decode(&encoded).as_ref(), Ok(&frame));
    assert_eq!(encoded[..4], data[..4], "header length");
    assert_eq!(
        encoded[36..80],
        data[36..80],
        "schema, date, sequence, flags, id"
    );
    assert_eq!(encoded[112..], data[112..], "payload type, length, payload");
    if !frame.payload.is_empty() {
        assert_eq!(encoded[80..112], data[80..112], "digest");
    }
}

/// Splits the input into frames (2-byte big-endian length prefix each) and feeds them to a
/// client and an agent session, with clock steps taken from the input too. Checks the
/// invariants that must hold whatever arrives.
pub fn check_session_frames(data: &[u8]) {
    let start = Instant::now();
    for config in [SessionConfig::client("fuzz"), SessionConfig::agent("fuzz")] {
        let capacity = config.outgoing_capacity;
        let mut session = Session::new(
            config,
            Box::new(SeededIds::new(7)),
            start,
            1_700_000_000_000,
        );
        let mut now = start;
        session.send_data(now, b"hello");
        let mut rest = data;
        while rest.len() >= 3 {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 3);
            now += Duration::from_millis(u64::from(rest[2]) * 4);
            let frame = &rest[3..3 + len];
            rest = &rest[3 + len..];
            let malformed_before = session.stats().malformed_dropped;
            // The consumer's readiness (§5.2 "not ready") follows a bit of the input.
            session.set_receive_ready(len % 2 == 0);
            session.handle_frame(now, frame);
            // The session reads frames leniently (§2.1), so that is the decoder to compare with.
            if Frame::decode_received(frame).is_err() && !session.is_closed() {
                assert_eq!(session.stats().malformed_dropped, malformed_before + 1);
            }
            if session.poll_timeout().is_some_and(|due| due <= now) {
                session.handle_timeout(now);
            }
            session.send_data(now, b"more");
            while let Some(out) = session.poll_transmit(now) {
                Frame::decode(&out).expect("the session only writes valid frames");
            }
            while session.poll_event().is_some() {}
            assert!(session.unacked_count() <= capacity);
        }
    }
}

/// The emulator's request parsers, compiled from the main crate's files under the module
/// paths they have there (`crate::emulator::…`): the EC2 Query parser (`ec2/query.rs`) with
/// its error type and the NextToken decoder it calls, and the SSM JSON request bodies
/// (`ssm/requests.rs`). None of them needs the rest of the emulator.
// The `#[path]` on each inline module names its directory, so the files below are found
// in the main crate's `src/emulator/` (a path through directories that do not exist here,
// like `fuzz/src/emulator/..`, would not resolve).
#[path = "../../src/emulator"]
pub mod emulator {
    #[path = "pagination.rs"]
    pub mod pagination;

    #[path = "ec2"]
    pub mod ec2 {
        #[path = "error.rs"]
        mod error;
        #[path = "query.rs"]
        pub mod query;

        pub use error::Ec2Error;
    }

    #[path = "ssm"]
    pub mod ssm {
        #[path = "requests.rs"]
        pub mod requests;
    }
}

use emulator::ec2::Ec2Error;
use emulator::ec2::query::{MAX_FILTER_VALUES, Query};
use emulator::pagination;
use emulator::ssm::requests::{self, BodyError};

/// The same bytes as an EC2 Query form body and as every SSM request body.
pub fn check_http_requests(data: &[u8]) {
    check_ec2_query(data);
    check_ssm_bodies(data);
}

/// An EC2 error as a client sees it: an AWS code, and a message that is bounded and has no
/// control characters (client text in it goes through `printable`).
fn check_ec2_error(err: &Ec2Error) {
    assert!(err.status.is_client_error(), "{err:?}");
    assert!(
        err.code.starts_with(|c: char| c.is_ascii_uppercase()),
        "{err:?}"
    );
    assert!(!err.message.chars().any(char::is_control), "{err:?}");
    assert!(err.message.chars().count() <= 400, "{err:?}");
}

/// `Filter.<index>.Value.<position>` with both numbers as the parser reads them (`u32`).
fn is_filter_value_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("Filter.") else {
        return false;
    };
    let Some((index, field)) = rest.split_once('.') else {
        return false;
    };
    index.parse::<u32>().is_ok()
        && field
            .strip_prefix("Value.")
            .is_some_and(|position| position.parse::<u32>().is_ok())
}

/// Parsing a query never panics, and the lists and filters it yields hold what the
/// parameters (decoded here independently) say: the 200-value limit is enforced exactly,
/// every filter that parses has a name and at least one value, and no value is invented.
pub fn check_ec2_query(data: &[u8]) {
    let query = Query::parse(data);
    let params: std::collections::BTreeMap<String, String> =
        form_urlencoded::parse(data).into_owned().collect();
    assert_eq!(
        query.get("Action"),
        params.get("Action").map(String::as_str)
    );

    let ids = query.list("InstanceId");
    let id_keys = params
        .keys()
        .filter(|key| {
            key.strip_prefix("InstanceId.")
                .is_some_and(|index| index.parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(ids.len(), id_keys);
    assert!(
        ids.iter()
            .all(|id| params.values().any(|value| value == id))
    );

    let value_keys = params.keys().filter(|key| is_filter_value_key(key)).count();
    match query.filters() {
        Ok(filters) => {
            assert!(value_keys <= MAX_FILTER_VALUES);
            let values: usize = filters.iter().map(|filter| filter.values.len()).sum();
            assert_eq!(values, value_keys, "every value is filed under one filter");
            assert!(filters.len() <= MAX_FILTER_VALUES);
            for filter in &filters {
                assert!(!filter.values.is_empty());
                assert!(params.values().any(|value| *value == filter.name));
            }
        }
        Err(err) => {
            check_ec2_error(&err);
            if value_keys > MAX_FILTER_VALUES {
                assert_eq!(err.code, "FilterLimitExceeded");
            } else {
                assert!(
                    matches!(err.code, "MissingParameter" | "InvalidParameterValue"),
                    "{err:?}"
                );
            }
        }
    }

    match query.max_results(5..=1000) {
        Ok(Some(max)) => assert!((5..=1000).contains(&max)),
        Ok(None) => assert!(!params.contains_key("MaxResults")),
        Err(err) => check_ec2_error(&err),
    }
    match query.start_offset() {
        Ok(offset) => assert_eq!(
            pagination::decode(&pagination::encode(offset)),
            Some(offset)
        ),
        Err(err) => {
            check_ec2_error(&err);
            assert!(params.contains_key("NextToken"));
        }
    }
}

/// What `requests::parse` must do with a body, from the body alone: blank is `{}`, not JSON
/// or not an object is a serialization error, an object is never one.
fn expected_json(data: &[u8]) -> Option<serde_json::Value> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Some(serde_json::Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(data)
        .ok()
        .filter(serde_json::Value::is_object)
}

fn check_kind<T>(result: &Result<T, BodyError>, json: Option<&serde_json::Value>) {
    match (result, json) {
        (Err(BodyError::Serialization(_)), None)
        | (Ok(_) | Err(BodyError::Validation(_)), Some(_)) => {}
        (Err(BodyError::Serialization(message)), Some(_)) => {
            panic!("a JSON object refused as not one: {message}")
        }
        (Ok(_) | Err(BodyError::Validation(_)), None) => {
            panic!("a body that is not a JSON object accepted or called a validation error")
        }
    }
}

/// Every SSM request body: the kind of error is the one the body calls for, and whatever
/// parses carries exactly what the body said.
pub fn check_ssm_bodies(data: &[u8]) {
    use serde_json::Value;
    let json = expected_json(data);
    let field = |name: &str| json.as_ref().and_then(|json| json.get(name));
    let text = |name: &str| field(name).and_then(Value::as_str);
    let length = |name: &str| field(name).and_then(Value::as_array).map_or(0, Vec::len);

    let result = requests::parse::<requests::DescribeInstanceInformationRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(request.filters.len(), length("Filters"));
        assert_eq!(
            request.instance_information_filter_list.len(),
            length("InstanceInformationFilterList")
        );
        assert_eq!(
            request.max_results,
            field("MaxResults").and_then(Value::as_i64)
        );
        assert_eq!(request.next_token.as_deref(), text("NextToken"));
    }

    let result = requests::parse::<requests::StartSessionRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.target.as_str()), text("Target"));
        assert_eq!(request.document_name.as_deref(), text("DocumentName"));
        assert_eq!(request.reason.as_deref(), text("Reason"));
        let parameters = field("Parameters")
            .and_then(Value::as_object)
            .map_or(0, |map| map.len());
        assert_eq!(request.parameters.len(), parameters);
    }

    let result = requests::parse::<requests::DescribeSessionsRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.state.as_str()), text("State"));
        assert_eq!(request.filters.len(), length("Filters"));
        assert_eq!(
            request.max_results,
            field("MaxResults").and_then(Value::as_i64)
        );
        assert_eq!(request.next_token.as_deref(), text("NextToken"));
    }

    let result = requests::parse::<requests::SessionIdRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.session_id.as_str()), text("SessionId"));
    }

    let result = requests::parse::<requests::GetConnectionStatusRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.target.as_str()), text("Target"));
    }

    let result = requests::parse::<requests::ListTagsForResourceRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.resource_type.as_str()), text("ResourceType"));
        assert_eq!(Some(request.resource_id.as_str()), text("ResourceId"));
    }

    let result = requests::parse::<requests::GetDocumentRequest>(data);
    check_kind(&result, json.as_ref());
    if let Ok(request) = result {
        assert_eq!(Some(request.name.as_str()), text("Name"));
    }
}
