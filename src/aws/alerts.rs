//! EventBridge rules and targets and the SNS topic of `gangway alerts apply`, through
//! aws-sdk-eventbridge and aws-sdk-sns: read what exists (DescribeRule, ListTargetsByRule,
//! GetTopicAttributes) and write what changes (CreateTopic, PutRule, PutTargets). Rules cross
//! this boundary as [`AlertRule`]s, plain data the commands layer compares.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Target};

use super::client::AwsClient;
use super::error::AwsError;

/// A rule as PutRule takes it, with the targets PutTargets takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    pub name: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    /// `ENABLED`, `DISABLED`, …
    pub state: String,
    pub targets: Vec<AlertTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTarget {
    pub id: String,
    pub arn: String,
    pub input: Option<String>,
    pub input_path: Option<String>,
    /// `InputPathsMap` and `InputTemplate`, when the target has a transformer.
    pub input_transformer: Option<(BTreeMap<String, String>, String)>,
}

/// Targets read per rule at most: EventBridge allows 5, one page of 100 is plenty.
const TARGET_PAGE: i32 = 100;

impl AwsClient {
    /// The rule of that name on the default bus with its targets, or `None` if there is none.
    pub async fn alert_rule(&self, name: &str) -> Result<Option<AlertRule>, AwsError> {
        let described = match self.events.describe_rule().name(name).send().await {
            Ok(described) => described,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(self.errors.map(err)),
        };
        let listed = self
            .events
            .list_targets_by_rule()
            .rule(name)
            .limit(TARGET_PAGE)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        let targets = listed
            .targets()
            .iter()
            .map(|target| AlertTarget {
                id: target.id().to_owned(),
                arn: target.arn().to_owned(),
                input: target.input().map(str::to_owned),
                input_path: target.input_path().map(str::to_owned),
                input_transformer: target.input_transformer().map(|t| {
                    let paths = t
                        .input_paths_map()
                        .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default();
                    (paths, t.input_template().to_owned())
                }),
            })
            .collect();
        Ok(Some(AlertRule {
            name: described.name().unwrap_or(name).to_owned(),
            description: described.description().map(str::to_owned),
            event_pattern: described.event_pattern().map(str::to_owned),
            state: described
                .state()
                .map_or_else(|| "ENABLED".to_owned(), |s| s.as_str().to_owned()),
            targets,
        }))
    }

    /// Creates or replaces the rule (PutRule), then puts its targets (PutTargets, which adds
    /// or replaces by `Id` and leaves other targets alone).
    pub async fn put_alert_rule(&self, rule: &AlertRule) -> Result<(), AwsError> {
        self.events
            .put_rule()
            .name(&rule.name)
            .set_description(rule.description.clone())
            .set_event_pattern(rule.event_pattern.clone())
            .state(RuleState::from(rule.state.as_str()))
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        if rule.targets.is_empty() {
            return Ok(());
        }
        let mut call = self.events.put_targets().rule(&rule.name);
        for target in &rule.targets {
            let transformer = match &target.input_transformer {
                Some((paths, template)) => Some(
                    InputTransformer::builder()
                        .set_input_paths_map(Some(paths.clone().into_iter().collect()))
                        .input_template(template)
                        .build()
                        .map_err(|e| AwsError::Config(e.to_string()))?,
                ),
                None => None,
            };
            let built = Target::builder()
                .id(&target.id)
                .arn(&target.arn)
                .set_input(target.input.clone())
                .set_input_path(target.input_path.clone())
                .set_input_transformer(transformer)
                .build()
                .map_err(|e| AwsError::Config(e.to_string()))?;
            call = call.targets(built);
        }
        let answer = call.send().await.map_err(|e| self.errors.map(e))?;
        if let Some(failed) = answer.failed_entries().first() {
            return Err(AwsError::Service {
                code: failed.error_code().unwrap_or("PutTargets").to_owned(),
                message: crate::text::escape_for_terminal(
                    failed.error_message().unwrap_or_default(),
                )
                .into_owned(),
            });
        }
        Ok(())
    }

    /// The topic's attributes (GetTopicAttributes), or `None` when it does not exist (SNS's
    /// NotFound).
    pub async fn topic_attributes(
        &self,
        arn: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        match self.sns.get_topic_attributes().topic_arn(arn).send().await {
            Ok(answer) => Ok(Some(
                answer
                    .attributes()
                    .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            )),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(self.errors.map(err)),
        }
    }

    /// Sets one attribute of a topic (SetTopicAttributes): `Policy`, …
    pub async fn set_topic_attribute(
        &self,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), AwsError> {
        self.sns
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(())
    }

    /// Creates the topic with these attributes (`Policy`, …), or finds it (CreateTopic is
    /// idempotent); its ARN.
    pub async fn create_topic(
        &self,
        name: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let created = self
            .sns
            .create_topic()
            .name(name)
            .set_attributes(Some(attributes.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        created
            .topic_arn()
            .map(str::to_owned)
            .ok_or_else(|| AwsError::BadResponse("CreateTopic without a TopicArn".into()))
    }
}
