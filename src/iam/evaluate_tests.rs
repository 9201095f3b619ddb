//! Table tests from AWS's documented examples; each names the IAM User Guide (or Systems
//! Manager User Guide) page it comes from. The policies are the pages' own, the requests
//! are the cases the pages describe in words.

#![allow(clippy::unwrap_used)]

use super::*;

struct Case {
    action: &'static str,
    resource: &'static str,
    context: &'static [(&'static str, &'static str)],
    allowed: bool,
}

const fn case(
    action: &'static str,
    resource: &'static str,
    context: &'static [(&'static str, &'static str)],
    allowed: bool,
) -> Case {
    Case {
        action,
        resource,
        context,
        allowed,
    }
}

fn check(page: &str, policies: &[&str], cases: &[Case]) {
    let policies: Vec<Policy> = policies
        .iter()
        .map(|text| Policy::parse(text).unwrap_or_else(|e| panic!("{page}: {e}")))
        .collect();
    for (i, c) in cases.iter().enumerate() {
        let mut context = Context::new();
        for (key, value) in c.context {
            context.set(key, *value);
        }
        let decision = evaluate(
            &policies,
            &Request {
                action: c.action,
                resource: c.resource,
                context: &context,
            },
        );
        assert_eq!(
            decision.is_allowed(),
            c.allowed,
            "{page}, case {i}: {} on {} with {:?}: {decision:?}",
            c.action,
            c.resource,
            c.context
        );
    }
}

#[test]
fn policy_evaluation_logic_explicit_deny_overrides_allow() {
    // "Policy evaluation logic": an explicit deny in any policy overrides any allow; with no
    // allow the request is implicitly denied.
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#;
    let deny = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}}"#;
    let policies = [Policy::parse(allow).unwrap(), Policy::parse(deny).unwrap()];
    let context = Context::new();
    let ask = |action| {
        evaluate(
            &policies,
            &Request {
                action,
                resource: "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
                context: &context,
            },
        )
    };
    assert!(matches!(ask("ec2:TerminateInstances"), Decision::ExplicitDeny(d) if d.policy == 1));
    assert!(matches!(ask("ec2:DescribeInstances"), Decision::Allow(d) if d.policy == 0));
    assert_eq!(ask("s3:GetObject"), Decision::ImplicitDeny);
}

#[test]
fn action_names_are_case_insensitive_and_resources_are_not() {
    // "IAM JSON policy elements: Action": "action names are not case-sensitive";
    // "IAM JSON policy elements: Resource": ARNs are case-sensitive.
    check(
        "IAM JSON policy elements: Action",
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListAccessKeys","s3:Get*"],"Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"}]}"#,
        ],
        &[
            case(
                "IAM:listaccesskeys",
                "arn:aws:s3:::amzn-s3-demo-bucket/x",
                &[],
                true,
            ),
            case(
                "s3:getobject",
                "arn:aws:s3:::amzn-s3-demo-bucket/x",
                &[],
                true,
            ),
            case(
                "s3:GetObject",
                "arn:aws:s3:::AMZN-S3-DEMO-BUCKET/x",
                &[],
                false,
            ),
            case(
                "s3:PutObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/x",
                &[],
                false,
            ),
        ],
    );
}

#[test]
fn not_action_allows_everything_else() {
    // "IAM JSON policy elements: NotAction": allow all services except IAM.
    check(
        "IAM JSON policy elements: NotAction",
        &[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
        ],
        &[
            case(
                "ssm:StartSession",
                "arn:aws:ec2:us-east-1:1:instance/i-1",
                &[],
                true,
            ),
            case("iam:CreateUser", "arn:aws:iam::1:user/x", &[], false),
        ],
    );
}

#[test]
fn not_resource_denies_everything_else() {
    // "IAM JSON policy elements: NotResource": deny everything but one bucket.
    check(
        "IAM JSON policy elements: NotResource",
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]}"#,
        ],
        &[
            case("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x", &[], true),
            case("s3:GetObject", "arn:aws:s3:::HRBucket/Other", &[], false),
        ],
    );
}

#[test]
fn policy_variables_and_special_characters() {
    // "IAM policy elements: Variables and tags": a home prefix per user, `${*}` as a literal
    // asterisk, and a default value.
    check(
        "IAM policy elements: Variables and tags",
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"},{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/${*}literal"},{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}]}"#,
        ],
        &[
            case(
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/Bob/a",
                &[("aws:username", "Bob")],
                true,
            ),
            case(
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/Alice/a",
                &[("aws:username", "Bob")],
                false,
            ),
            // No aws:username in the context: the variable has no value, nothing matches.
            case(
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/Bob/a",
                &[],
                false,
            ),
            case(
                "s3:PutObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/*literal",
                &[],
                true,
            ),
            case(
                "s3:PutObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/xliteral",
                &[],
                false,
            ),
            case(
                "s3:DeleteObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/company-wide/a",
                &[],
                true,
            ),
            case(
                "s3:DeleteObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/ops/a",
                &[("aws:PrincipalTag/team", "ops")],
                true,
            ),
        ],
    );
}

#[test]
fn version_2008_takes_variables_literally() {
    // "IAM JSON policy elements: Version": variables are not replaced without 2012-10-17.
    check(
        "IAM JSON policy elements: Version",
        &[
            r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}}"#,
        ],
        &[
            case(
                "s3:GetObject",
                "arn:aws:s3:::b/Bob",
                &[("aws:username", "Bob")],
                false,
            ),
            case(
                "s3:GetObject",
                "arn:aws:s3:::b/${aws:username}",
                &[("aws:username", "Bob")],
                true,
            ),
        ],
    );
}

#[test]
fn allows_access_within_specific_dates() {
    // "IAM: Allows access within specific dates" (aws:CurrentTime, DateGreaterThan +
    // DateLessThan: two keys of one block AND).
    check(
        "IAM: Allows access within specific dates",
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"service-prefix:action-name","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}}]}"#,
        ],
        &[
            case(
                "service-prefix:action-name",
                "arn:aws:s:::x",
                &[("aws:CurrentTime", "2020-05-01T12:00:00Z")],
                true,
            ),
            case(
                "service-prefix:action-name",
                "arn:aws:s:::x",
                &[("aws:CurrentTime", "2020-07-01T00:00:00Z")],
                false,
            ),
            case(
                "service-prefix:action-name",
                "arn:aws:s:::x",
                &[("aws:CurrentTime", "2020-03-31T23:59:59Z")],
                false,
            ),
            // Epoch seconds are a date too (1588334400 = 2020-05-01T12:00:00Z).
            case(
                "service-prefix:action-name",
                "arn:aws:s:::x",
                &[("aws:CurrentTime", "1588334400")],
                true,
            ),
            case("service-prefix:action-name", "arn:aws:s:::x", &[], false),
        ],
    );
}

#[test]
fn condition_operators_page_examples() {
    // "IAM JSON policy elements: Condition operators": one example per operator family.
    check(
        "IAM JSON policy elements: Condition operators",
        &[r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::account-id:user/*","Condition":{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}},
            {"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:RequestTag/Name":"Test"}}},
            {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}},
            {"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Allow","Action":"sns:Publish","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudwatch:us-east-2:123456789012:*"}}},
            {"Effect":"Allow","Action":"s3:GetBucketLocation","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}},
            {"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalTag/team":"ops-*"}}}
        ]}"#],
        &[
            case(
                "iam:CreateAccessKey",
                "arn:aws:iam::account-id:user/x",
                &[("aws:PrincipalTag/job-category", "iamuser-admin")],
                true,
            ),
            case(
                "iam:CreateAccessKey",
                "arn:aws:iam::account-id:user/x",
                &[("aws:PrincipalTag/job-category", "IAMUSER-ADMIN")],
                false,
            ),
            // Condition key names are case-insensitive.
            case(
                "iam:CreateAccessKey",
                "arn:aws:iam::account-id:user/x",
                &[("AWS:principaltag/JOB-CATEGORY", "iamuser-admin")],
                true,
            ),
            case(
                "ec2:RunInstances",
                "arn:aws:ec2:::i",
                &[("aws:RequestTag/Name", "TEST")],
                true,
            ),
            case(
                "s3:ListBucket",
                "arn:aws:s3:::amzn-s3-demo-bucket",
                &[("s3:max-keys", "10")],
                true,
            ),
            case(
                "s3:ListBucket",
                "arn:aws:s3:::amzn-s3-demo-bucket",
                &[("s3:max-keys", "11")],
                false,
            ),
            case(
                "dynamodb:GetItem",
                "arn:aws:d:::t",
                &[("aws:SecureTransport", "true")],
                true,
            ),
            case(
                "dynamodb:GetItem",
                "arn:aws:d:::t",
                &[("aws:SecureTransport", "false")],
                false,
            ),
            case(
                "sns:Publish",
                "arn:aws:sns:::t",
                &[(
                    "aws:SourceArn",
                    "arn:aws:cloudwatch:us-east-2:123456789012:alarm:x",
                )],
                true,
            ),
            case(
                "sns:Publish",
                "arn:aws:sns:::t",
                &[(
                    "aws:SourceArn",
                    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x",
                )],
                false,
            ),
            case("s3:GetBucketLocation", "arn:aws:s3:::b", &[], true),
            case(
                "s3:GetBucketLocation",
                "arn:aws:s3:::b",
                &[("aws:TokenIssueTime", "2020-01-01T00:00:00Z")],
                false,
            ),
            // A negated operator holds when the key is absent.
            case("iam:GetUser", "arn:aws:iam:::u", &[], true),
            case(
                "iam:GetUser",
                "arn:aws:iam:::u",
                &[("aws:PrincipalTag/team", "ops-east")],
                false,
            ),
        ],
    );
}

#[test]
fn if_exists_holds_when_the_key_is_absent() {
    // "IAM JSON policy elements: Condition operators", "...IfExists condition operators":
    // StringLikeIfExists on ec2:InstanceType.
    check(
        "Condition operators: ...IfExists condition operators",
        &[
            r#"{"Version":"2012-10-17","Statement":{"Sid":"THISPOLICYDOESNOTWORK","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}}"#,
        ],
        &[
            case(
                "ec2:RunInstances",
                "arn:aws:ec2:::instance/*",
                &[("ec2:InstanceType", "t2.micro")],
                true,
            ),
            case(
                "ec2:RunInstances",
                "arn:aws:ec2:::instance/*",
                &[("ec2:InstanceType", "c5.large")],
                false,
            ),
            case("ec2:RunInstances", "arn:aws:ec2:::volume/*", &[], true),
        ],
    );
}

#[test]
fn multiple_keys_and_multiple_values() {
    // "Create a condition with multiple keys or values": keys AND, values of a key OR.
    check(
        "Create a condition with multiple keys or values",
        &[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]}}}}"#,
        ],
        &[
            case(
                "iam:ListUsers",
                "arn:aws:iam:::u",
                &[
                    ("aws:PrincipalTag/department", "hr"),
                    ("aws:PrincipalTag/role", "audit"),
                ],
                true,
            ),
            case(
                "iam:ListUsers",
                "arn:aws:iam:::u",
                &[
                    ("aws:PrincipalTag/department", "hr"),
                    ("aws:PrincipalTag/role", "dev"),
                ],
                false,
            ),
            case(
                "iam:ListUsers",
                "arn:aws:iam:::u",
                &[("aws:PrincipalTag/department", "hr")],
                false,
            ),
        ],
    );
}

#[test]
fn set_operators_on_multivalued_keys() {
    // "Set operators for multivalued context keys": ForAllValues is true for every request
    // value in the set (and for no values at all); ForAnyValue needs one.
    let policy = Policy::parse(r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["ID","Message","Tags"]}}},
        {"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}},
        {"Effect":"Deny","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment","cost-center","owner"]}}}
    ]}"#).unwrap();
    let ask = |action, key: &str, values: &[&str]| {
        let mut context = Context::new();
        if !values.is_empty() {
            context.set_multi(key, values.iter().map(|v| (*v).to_owned()).collect());
        }
        evaluate(
            std::slice::from_ref(&policy),
            &Request {
                action,
                resource: "arn:aws:x:::y",
                context: &context,
            },
        )
        .is_allowed()
    };
    assert!(ask(
        "dynamodb:GetItem",
        "dynamodb:Attributes",
        &["ID", "Message"]
    ));
    assert!(!ask(
        "dynamodb:GetItem",
        "dynamodb:Attributes",
        &["ID", "Secret"]
    ));
    assert!(ask("dynamodb:GetItem", "dynamodb:Attributes", &[]));
    assert!(ask(
        "ec2:CreateTags",
        "aws:TagKeys",
        &["environment", "owner"]
    ));
    assert!(!ask("ec2:CreateTags", "aws:TagKeys", &["owner"]));
    // The Deny: one key outside the allowed three.
    assert!(!ask(
        "ec2:CreateTags",
        "aws:TagKeys",
        &["environment", "secret"]
    ));
}

#[test]
fn session_manager_tag_and_own_session_policies() {
    // Systems Manager User Guide, "Sample IAM policies for Session Manager": sessions on
    // instances by tag (ssm:resourceTag), terminate only one's own sessions.
    check(
        "Sample IAM policies for Session Manager",
        &[r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ssm:StartSession"],"Resource":["arn:aws:ec2:region:987654321098:instance/*"],"Condition":{"StringLike":{"ssm:resourceTag/Finance":["WebServers"]}}},
            {"Effect":"Allow","Action":["ssm:StartSession"],"Resource":["arn:aws:ssm:*:*:document/AWS-StartSSHSession"],"Condition":{"BoolIfExists":{"ssm:SessionDocumentAccessCheck":"true"}}},
            {"Effect":"Allow","Action":["ssm:TerminateSession","ssm:ResumeSession"],"Resource":["arn:aws:ssm:*:*:session/${aws:username}-*"]}
        ]}"#],
        &[
            case(
                "ssm:StartSession",
                "arn:aws:ec2:region:987654321098:instance/i-02573cafcfEXAMPLE",
                &[("ssm:resourceTag/Finance", "WebServers")],
                true,
            ),
            case(
                "ssm:StartSession",
                "arn:aws:ec2:region:987654321098:instance/i-02573cafcfEXAMPLE",
                &[("ssm:resourceTag/Finance", "Other")],
                false,
            ),
            case(
                "ssm:StartSession",
                "arn:aws:ec2:region:987654321098:instance/i-02573cafcfEXAMPLE",
                &[],
                false,
            ),
            case(
                "ssm:StartSession",
                "arn:aws:ssm:us-east-1::document/AWS-StartSSHSession",
                &[],
                true,
            ),
            case(
                "ssm:StartSession",
                "arn:aws:ssm:us-east-1::document/AWS-StartSSHSession",
                &[("ssm:SessionDocumentAccessCheck", "true")],
                true,
            ),
            case(
                "ssm:TerminateSession",
                "arn:aws:ssm:us-east-1:987654321098:session/alice-0123456789abcdef0",
                &[("aws:username", "alice")],
                true,
            ),
            case(
                "ssm:TerminateSession",
                "arn:aws:ssm:us-east-1:987654321098:session/bob-0123456789abcdef0",
                &[("aws:username", "alice")],
                false,
            ),
        ],
    );
}

#[test]
fn policy_variables_in_condition_values() {
    // "IAM policy elements: Variables and tags": "You can use policy variables in … the
    // Condition element", e.g. a resource tag that must equal the caller's name.
    check(
        "IAM policy elements: Variables and tags",
        &[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:StartSession","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/Owner":"${aws:username}"}}}}"#,
        ],
        &[
            case(
                "ssm:StartSession",
                "arn:aws:ec2:r:1:instance/i-1",
                &[
                    ("aws:username", "alice"),
                    ("aws:ResourceTag/Owner", "alice"),
                ],
                true,
            ),
            case(
                "ssm:StartSession",
                "arn:aws:ec2:r:1:instance/i-1",
                &[("aws:username", "alice"), ("aws:ResourceTag/Owner", "bob")],
                false,
            ),
        ],
    );
}

fn refused(text: &str) -> String {
    Policy::parse(text).unwrap_err().to_string()
}

#[test]
fn grammar_errors_say_where() {
    assert!(refused("{").starts_with("not valid JSON: line 1, column 1"));
    assert_eq!(refused("[]"), "a policy document is a JSON object");
    assert!(refused(r#"{"Version":"2012-10-17"}"#).starts_with("Statement: missing"));
    assert!(refused(r#"{"Version":"2012-10-18","Statement":[]}"#).starts_with("Version: "));
    assert!(refused(r#"{"Statement":[]}"#).starts_with("Statement: an empty list"));
    assert!(refused(r#"{"Statement":"x"}"#).starts_with("Statement: must be"));
    let s = |body: &str| {
        refused(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}},{body}]}}"#
        ))
    };
    assert!(
        s(r#"{"Effect":"allow","Action":"*","Resource":"*"}"#)
            .starts_with("Statement[1].Effect: \"allow\" is not Allow or Deny")
    );
    assert!(s(r#"{"Action":"*","Resource":"*"}"#).starts_with("Statement[1].Effect: missing"));
    assert!(
        s(r#"{"Effect":"Allow","Action":"*","NotAction":"x:y","Resource":"*"}"#)
            .contains("both Action and NotAction")
    );
    assert!(s(r#"{"Effect":"Allow","Action":"*"}"#).contains("needs Resource or NotResource"));
    assert!(
        s(r#"{"Effect":"Allow","Action":"StartSession","Resource":"*"}"#)
            .starts_with("Statement[1].Action: `StartSession` is not an action")
    );
    assert!(
        s(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#)
            .starts_with("Statement[1].Action: an empty list")
    );
    assert!(
        s(r#"{"Effect":"Allow","Action":["x:y",3],"Resource":"*"}"#)
            .starts_with("Statement[1].Action[1]: must be a string")
    );
    assert!(
        s(r#"{"Effect":"Allow","Action":"*","Resource":"i-123"}"#)
            .starts_with("Statement[1].Resource: `i-123` is not an ARN")
    );
    assert!(
        s(r#"{"Sid":"a b","Effect":"Allow","Action":"*","Resource":"*"}"#)
            .starts_with("Statement[1].Sid: ")
    );
    assert!(
        s(r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#)
            .starts_with("Statement[1].Principal: not allowed")
    );
    assert!(
        s(r#"{"Effect":"Allow","Actions":"*","Resource":"*"}"#)
            .starts_with("Statement[1].Actions: unknown element")
    );
    assert!(s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThann":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}"#)
        .starts_with("Statement[1].Condition: unknown condition operator `DateLessThann`"));
    assert!(s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}"#)
        .starts_with("Statement[1].Condition.DateLessThan: `aws:CurrentTime`: `tomorrow` is not a date"));
    assert!(s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}"#).contains("is not a number"));
    assert!(s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}"#).contains("is not true or false"));
    assert!(s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#).contains("does not support it"));
    assert!(
        s(r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}"#)
            .starts_with("Statement[1].Condition.StringEquals: must be an object")
    );
    assert!(
        s(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username"}"#)
            .contains("not closed")
    );
    assert!(refused(r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}]}"#).starts_with("Statement[1].Sid: `A` is used twice"));
    let huge = format!(
        r#"{{"Statement":{{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::{}"}}}}"#,
        "a".repeat(7000)
    );
    assert!(refused(&huge).contains("IAM allows at most 6144"));
    // A lone statement object is fine, and so are numbers and booleans as condition values.
    Policy::parse(r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"k:n":5},"Bool":{"k:b":true}}}}"#).unwrap();
}

#[test]
fn operator_names_round_trip() {
    for name in [
        "StringEquals",
        "ForAnyValue:StringLike",
        "ForAllValues:StringNotEqualsIgnoreCase",
        "DateLessThanIfExists",
        "ArnNotLike",
        "Null",
    ] {
        assert_eq!(Operator::parse(name).unwrap().to_string(), name);
    }
    assert!(Operator::parse("NullIfExists").is_err());
    assert!(Operator::parse("stringequals").is_err());
}
