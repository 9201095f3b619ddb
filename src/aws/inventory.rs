//! The fleet: EC2 DescribeInstances joined with SSM DescribeInstanceInformation and image
//! names, so one row says both what the instance is and whether Session Manager can reach it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use aws_sdk_ec2::types::Filter;
use aws_sdk_ssm::types::{
    InstanceInformation, InstanceInformationStringFilter, ResourceTypeForTagging,
};

use super::client::AwsClient;
use super::error::AwsError;
use super::types::{Instance, InstanceId, InstanceState, PingStatus};

/// The largest page EC2 allows: fewer round trips for big fleets.
const EC2_PAGE_SIZE: i32 = 1000;
/// An EC2 instance with its reservation's owner (the account id).
type Ec2Raw = (Option<String>, aws_sdk_ec2::types::Instance);
/// The largest page DescribeInstanceInformation allows.
const SSM_PAGE_SIZE: i32 = 50;
/// Values one DescribeInstanceInformation `InstanceIds` filter may carry.
const SSM_IDS_PER_FILTER: usize = 50;
/// DescribeImages takes a bounded list of ids; ask in chunks.
const IMAGE_IDS_PER_CALL: usize = 100;
/// ListTagsForResource calls in flight at once (one per hybrid node).
const TAG_CALLS_AT_ONCE: usize = 8;

impl AwsClient {
    /// Every instance matching all `tag_filters` (EC2 filters: same key twice means either
    /// value), joined with its SSM agent information; hybrid `mi-` nodes come from SSM alone.
    /// Without filters both inventories are listed side by side; with filters SSM is asked
    /// only about the instances EC2 returned, so a narrow match on a big fleet costs a few
    /// calls instead of one per 50 nodes of the account.
    pub async fn list_instances(
        &self,
        tag_filters: &[(String, String)],
    ) -> Result<Vec<Instance>, AwsError> {
        if tag_filters.is_empty() {
            let (ec2, ssm) = tokio::join!(self.ec2_instances(None), self.ssm_nodes(None));
            return Ok(self.join_inventories(ec2?, ssm?, None).await);
        }
        let (ec2, hybrid) = tokio::join!(
            self.ec2_instances(ec2_tag_filters(tag_filters)),
            self.hybrid_nodes_matching(tag_filters)
        );
        let ec2 = ec2?;
        let ids: Vec<String> = ec2
            .iter()
            .filter_map(|(_, raw)| raw.instance_id.clone())
            .collect();
        let ssm = self.ssm_nodes_with_ids(&ids).await?;
        Ok(self.join_inventories(ec2, ssm, hybrid).await)
    }

    /// The instances with these ids (EC2 `i-` and hybrid `mi-`), joined the same way and
    /// asking AWS about those ids only. Ids nobody knows are simply absent.
    pub async fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<Instance>, AwsError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let ec2_filter = Filter::builder()
            .name("instance-id")
            .set_values(Some(ids.clone()))
            .build();
        let (ec2, ssm) = tokio::join!(
            self.ec2_instances(Some(vec![ec2_filter])),
            self.ssm_nodes_with_ids(&ids)
        );
        let ssm = match ssm {
            // SSM refuses ids that are not the account's instead of leaving them out.
            Err(AwsError::NotFound(_)) => HashMap::new(),
            other => other?,
        };
        Ok(self.join_inventories(ec2?, ssm, None).await)
    }

    /// Joins EC2 instances with SSM nodes; hybrid nodes come from `hybrid` when given (the
    /// SSM nodes matching the filters), else from the SSM nodes EC2 did not claim.
    async fn join_inventories(
        &self,
        ec2: Vec<Ec2Raw>,
        mut ssm: HashMap<String, InstanceInformation>,
        hybrid: Option<HashMap<String, InstanceInformation>>,
    ) -> Vec<Instance> {
        let mut instances: Vec<Instance> = ec2
            .iter()
            .map(|(owner, raw)| {
                let mut instance =
                    self.join_ec2(raw, ssm.remove(raw.instance_id().unwrap_or_default()));
                instance.account_id.clone_from(owner);
                instance
            })
            .collect();
        let hybrid = hybrid.unwrap_or(ssm);
        instances.extend(
            hybrid
                .values()
                .filter(|info| info.instance_id().is_some_and(|id| id.starts_with("mi-")))
                .map(|info| self.hybrid_node(info)),
        );
        // Hybrid nodes have no image, so these two touch different rows; in turn is enough.
        self.add_hybrid_tags(&mut instances).await;
        self.add_image_names(&mut instances).await;
        instances.sort_by(|a, b| {
            (a.name.is_none(), &a.name, &a.id).cmp(&(b.name.is_none(), &b.name, &b.id))
        });
        instances
    }

    /// With tag filters, the SSM nodes that carry those tags (SSM knows hybrid nodes' tags,
    /// EC2 does not); `None` without filters. A failure only costs the hybrid nodes.
    async fn hybrid_nodes_matching(
        &self,
        tag_filters: &[(String, String)],
    ) -> Option<HashMap<String, InstanceInformation>> {
        if tag_filters.is_empty() {
            return None;
        }
        match self.ssm_nodes(ssm_tag_filters(tag_filters)).await {
            Ok(matching) => Some(matching),
            Err(err) => {
                tracing::warn!(region = %self.region(), "hybrid nodes skipped: {err}");
                Some(HashMap::new())
            }
        }
    }

    async fn ec2_instances(&self, filters: Option<Vec<Filter>>) -> Result<Vec<Ec2Raw>, AwsError> {
        let mut pages = self
            .ec2
            .describe_instances()
            .set_filters(filters)
            .max_results(EC2_PAGE_SIZE)
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.errors.map(e))?;
            for reservation in page.reservations.unwrap_or_default() {
                let owner = reservation.owner_id;
                instances.extend(
                    reservation
                        .instances
                        .unwrap_or_default()
                        .into_iter()
                        .map(|raw| (owner.clone(), raw)),
                );
            }
        }
        Ok(instances)
    }

    /// The SSM nodes among `ids`, asked in chunks the InstanceIds filter accepts.
    async fn ssm_nodes_with_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, InstanceInformation>, AwsError> {
        let mut nodes = HashMap::new();
        for chunk in ids.chunks(SSM_IDS_PER_FILTER) {
            let filter = InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .set_values(Some(chunk.to_vec()))
                .build()
                .map_err(|e| AwsError::BadResponse(e.to_string()))?;
            nodes.extend(self.ssm_nodes(Some(vec![filter])).await?);
        }
        Ok(nodes)
    }

    async fn ssm_nodes(
        &self,
        filters: Option<Vec<InstanceInformationStringFilter>>,
    ) -> Result<HashMap<String, InstanceInformation>, AwsError> {
        let mut pages = self
            .ssm
            .describe_instance_information()
            .set_filters(filters)
            .max_results(SSM_PAGE_SIZE)
            .into_paginator()
            .send();
        let mut nodes = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.errors.map(e))?;
            for info in page.instance_information_list.unwrap_or_default() {
                if let Some(id) = info.instance_id.clone() {
                    nodes.insert(id, info);
                }
            }
        }
        Ok(nodes)
    }

    fn join_ec2(
        &self,
        raw: &aws_sdk_ec2::types::Instance,
        info: Option<InstanceInformation>,
    ) -> Instance {
        let tags: BTreeMap<String, String> = raw
            .tags()
            .iter()
            .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
            .collect();
        let state = raw
            .state()
            .and_then(|s| s.name())
            .map_or(InstanceState::Other("unknown".into()), |n| {
                InstanceState::from_aws(n.as_str())
            });
        let mut instance = Instance {
            id: InstanceId::from_aws(raw.instance_id().unwrap_or_default()),
            name: tags.get("Name").cloned(),
            tags,
            state,
            ping_status: PingStatus::NotManaged,
            agent_version: None,
            platform: raw.platform_details().map(str::to_owned),
            platform_name: None,
            private_ip: raw.private_ip_address().map(str::to_owned),
            image_id: raw.image_id().map(str::to_owned),
            image_name: None,
            region: self.region().to_owned(),
            last_ping: None,
            account: self.account().map(str::to_owned),
            account_id: None,
            ec2: ec2_facts(raw),
        };
        if let Some(info) = info {
            apply_ssm_info(&mut instance, &info);
        }
        instance
    }

    fn hybrid_node(&self, info: &InstanceInformation) -> Instance {
        let mut instance = Instance {
            id: InstanceId::from_aws(info.instance_id().unwrap_or_default()),
            name: info.name().or(info.computer_name()).map(str::to_owned),
            tags: BTreeMap::new(),
            state: InstanceState::Hybrid,
            ping_status: PingStatus::NotManaged,
            agent_version: None,
            platform: None,
            platform_name: None,
            private_ip: info.ip_address().map(str::to_owned),
            image_id: None,
            image_name: None,
            region: self.region().to_owned(),
            last_ping: None,
            account: self.account().map(str::to_owned),
            account_id: None,
            ec2: Default::default(),
        };
        apply_ssm_info(&mut instance, info);
        instance
    }

    /// EC2 does not know hybrid (`mi-`) nodes, so their tags live in SSM: ListTagsForResource
    /// per node fills them in, so that the scope check, `tag:` targets, the Name and the JSON
    /// output see the same tags for every kind of instance (issue 16, bug 1). A failure
    /// leaves that node's tags empty and is logged.
    async fn add_hybrid_tags(&self, instances: &mut [Instance]) {
        let mut hybrid: Vec<&mut Instance> = instances
            .iter_mut()
            .filter(|instance| instance.id.as_str().starts_with("mi-"))
            .collect();
        for chunk in hybrid.chunks_mut(TAG_CALLS_AT_ONCE) {
            let calls = chunk.iter().map(|instance| {
                self.ssm
                    .list_tags_for_resource()
                    .resource_type(ResourceTypeForTagging::ManagedInstance)
                    .resource_id(instance.id.as_str())
                    .send()
            });
            let answers = futures_util::future::join_all(calls).await;
            for (instance, answer) in chunk.iter_mut().zip(answers) {
                match answer {
                    Ok(output) => {
                        instance.tags = output
                            .tag_list()
                            .iter()
                            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                            .collect();
                        if let Some(name) = instance.tags.get("Name") {
                            instance.name = Some(name.clone());
                        }
                    }
                    Err(err) => {
                        let err = self.errors.map(err);
                        tracing::warn!(node = %instance.id, "tags of a hybrid node: {err}");
                    }
                }
            }
        }
    }

    /// Image names are a nicety: a failure leaves them empty instead of failing the list.
    async fn add_image_names(&self, instances: &mut [Instance]) {
        let ids: BTreeSet<String> = instances
            .iter()
            .filter_map(|i| i.image_id.clone())
            .collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut names = HashMap::new();
        for chunk in ids.chunks(IMAGE_IDS_PER_CALL) {
            match self
                .ec2
                .describe_images()
                .set_image_ids(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(out) => names.extend(
                    out.images()
                        .iter()
                        .filter_map(|image| Some((image.image_id.clone()?, image.name.clone()?))),
                ),
                Err(err) => {
                    tracing::warn!(region = %self.region(), "image names unavailable: {}", self.errors.map(err));
                    return;
                }
            }
        }
        for instance in instances {
            instance.image_name = instance
                .image_id
                .as_ref()
                .and_then(|id| names.get(id).cloned());
        }
    }
}

fn apply_ssm_info(instance: &mut Instance, info: &InstanceInformation) {
    instance.ping_status = info
        .ping_status()
        .map_or(PingStatus::NotManaged, |p| PingStatus::from_aws(p.as_str()));
    instance.agent_version = info.agent_version().map(str::to_owned);
    if let Some(platform) = info.platform_type() {
        instance.platform = Some(platform.as_str().to_owned());
    }
    instance.platform_name = match (info.platform_name(), info.platform_version()) {
        (Some(name), Some(version)) if !version.is_empty() => Some(format!("{name} {version}")),
        (Some(name), _) => Some(name.to_owned()),
        _ => None,
    };
    if instance.private_ip.is_none() {
        instance.private_ip = info.ip_address().map(str::to_owned);
    }
    instance.last_ping = info
        .last_ping_date_time()
        .and_then(|d| SystemTime::try_from(*d).ok());
}

/// Tag pairs grouped by key: EC2 ORs the values of one filter and ANDs separate filters.
fn group_by_key(tag_filters: &[(String, String)]) -> BTreeMap<&str, Vec<String>> {
    let mut grouped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, value) in tag_filters {
        grouped.entry(key.as_str()).or_default().push(value.clone());
    }
    grouped
}

fn ec2_tag_filters(tag_filters: &[(String, String)]) -> Option<Vec<Filter>> {
    let filters: Vec<Filter> = group_by_key(tag_filters)
        .into_iter()
        .map(|(key, values)| {
            Filter::builder()
                .name(format!("tag:{key}"))
                .set_values(Some(values))
                .build()
        })
        .collect();
    (!filters.is_empty()).then_some(filters)
}

fn ssm_tag_filters(
    tag_filters: &[(String, String)],
) -> Option<Vec<InstanceInformationStringFilter>> {
    let filters: Vec<InstanceInformationStringFilter> = group_by_key(tag_filters)
        .into_iter()
        .filter_map(|(key, values)| {
            InstanceInformationStringFilter::builder()
                .key(format!("tag:{key}"))
                .set_values(Some(values))
                .build()
                .ok()
        })
        .collect();
    (!filters.is_empty()).then_some(filters)
}

/// The machine facts of DescribeInstances that the UI's detail pane shows.
fn ec2_facts(raw: &aws_sdk_ec2::types::Instance) -> crate::aws::types::Ec2Facts {
    let owned = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(str::to_owned);
    crate::aws::types::Ec2Facts {
        instance_type: owned(raw.instance_type().map(|t| t.as_str())),
        availability_zone: owned(raw.placement().and_then(|p| p.availability_zone())),
        launch_time: raw
            .launch_time()
            .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
        vpc_id: owned(raw.vpc_id()),
        subnet_id: owned(raw.subnet_id()),
        instance_profile: owned(raw.iam_instance_profile().and_then(|p| p.arn())),
        public_ip: owned(raw.public_ip_address()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_values_share_one_filter() {
        let pairs = vec![
            ("Env".to_owned(), "dev".to_owned()),
            ("Team".to_owned(), "core".to_owned()),
            ("Env".to_owned(), "stg".to_owned()),
        ];
        let filters = ec2_tag_filters(&pairs).expect("filters");
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].name(), Some("tag:Env"));
        assert_eq!(filters[0].values(), ["dev", "stg"]);
        assert!(ec2_tag_filters(&[]).is_none());
        assert_eq!(
            ssm_tag_filters(&pairs).expect("filters")[1].key(),
            "tag:Team"
        );
    }
}
