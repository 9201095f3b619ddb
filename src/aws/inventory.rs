//! The fleet: EC2 DescribeInstances joined with SSM DescribeInstanceInformation and image
//! names, so one row says both what the instance is and whether Session Manager can reach it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_ec2::types::Filter;
use aws_sdk_ssm::types::{
    InstanceInformation, InstanceInformationStringFilter, ResourceTypeForTagging,
};

use super::client::AwsClient;
use super::error::AwsError;
use super::types::{Ec2Facts, Instance, InstanceId, InstanceState, PingStatus, Tags};

/// The largest page EC2 allows: fewer round trips for big fleets.
const EC2_PAGE_SIZE: i32 = 1000;
/// The largest page DescribeInstanceInformation allows.
const SSM_PAGE_SIZE: i32 = 50;
/// Values one DescribeInstanceInformation `InstanceIds` filter may carry.
const SSM_IDS_PER_FILTER: usize = 50;
/// DescribeImages takes a bounded list of ids; ask in chunks.
const IMAGE_IDS_PER_CALL: usize = 100;
/// ListTagsForResource calls in flight at once (one per hybrid node).
const TAG_CALLS_AT_ONCE: usize = 8;

/// One allocation per distinct text of a listing: the region, the account, the image, the
/// platform, the instance type, the VPC, tag keys and most tag values repeat across thousands
/// of rows, and the UI keeps 100,000 rows (issue 13). Lives for one load.
#[derive(Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.0.get(text) {
            return known.clone();
        }
        let text: Arc<str> = text.into();
        self.0.insert(text.clone());
        text
    }

    fn some(&mut self, text: Option<&str>) -> Option<Arc<str>> {
        text.map(|text| self.text(text))
    }
}

/// What a row takes from SSM's DescribeInstanceInformation, kept instead of the SDK's
/// `InstanceInformation` (dozens of fields) while the EC2 side of the listing arrives.
struct SsmNode {
    ping_status: PingStatus,
    agent_version: Option<Arc<str>>,
    platform: Option<Arc<str>>,
    /// `PlatformName PlatformVersion`.
    platform_name: Option<Arc<str>>,
    ip: Option<Arc<str>>,
    last_ping: Option<SystemTime>,
    /// A hybrid node's name: SSM's `Name`, else the computer name.
    name: Option<Arc<str>>,
}

impl SsmNode {
    fn new(info: &InstanceInformation, texts: &mut Interner) -> Self {
        let platform_name = match (info.platform_name(), info.platform_version()) {
            (Some(name), Some(version)) if !version.is_empty() => {
                Some(texts.text(&format!("{name} {version}")))
            }
            (Some(name), _) => Some(texts.text(name)),
            _ => None,
        };
        Self {
            ping_status: info
                .ping_status()
                .map_or(PingStatus::NotManaged, |p| PingStatus::from_aws(p.as_str())),
            agent_version: texts.some(info.agent_version()),
            platform: texts.some(info.platform_type().map(|p| p.as_str())),
            platform_name,
            ip: texts.some(info.ip_address()),
            last_ping: info
                .last_ping_date_time()
                .and_then(|d| SystemTime::try_from(*d).ok()),
            name: texts.some(info.name().or(info.computer_name())),
        }
    }
}

/// SSM nodes by instance id.
type SsmNodes = HashMap<Box<str>, SsmNode>;

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
            .map(|instance| instance.id.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
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
        mut instances: Vec<Instance>,
        mut ssm: SsmNodes,
        hybrid: Option<SsmNodes>,
    ) -> Vec<Instance> {
        for instance in &mut instances {
            if let Some(node) = ssm.remove(instance.id.as_str()) {
                apply_ssm_node(instance, node);
            }
        }
        let hybrid = hybrid.unwrap_or(ssm);
        let (region, account) = (self.region_text(), self.account_text());
        instances.extend(
            hybrid
                .into_iter()
                .filter(|(id, _)| id.starts_with("mi-"))
                .map(|(id, node)| hybrid_node(&id, node, &region, &account)),
        );
        // Hybrid nodes have no image, so these two touch different rows; in turn is enough.
        self.add_hybrid_tags(&mut instances).await;
        self.add_image_names(&mut instances).await;
        instances.sort_by(|a, b| {
            (a.name.is_none(), &a.name, &a.id).cmp(&(b.name.is_none(), &b.name, &b.id))
        });
        instances.shrink_to_fit();
        instances
    }

    /// This client's region and account name, one allocation each for all the rows of a
    /// listing.
    fn region_text(&self) -> Arc<str> {
        self.region().into()
    }

    fn account_text(&self) -> Option<Arc<str>> {
        self.account().map(Arc::from)
    }

    /// With tag filters, the SSM nodes that carry those tags (SSM knows hybrid nodes' tags,
    /// EC2 does not); `None` without filters. A failure only costs the hybrid nodes.
    async fn hybrid_nodes_matching(&self, tag_filters: &[(String, String)]) -> Option<SsmNodes> {
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

    /// EC2's instances as rows (without their SSM side yet). Each page becomes rows as it
    /// arrives and is dropped: a listing never holds more than one page of the SDK's types,
    /// which are many times the size of a row (issue 13: eight listings run at once).
    async fn ec2_instances(&self, filters: Option<Vec<Filter>>) -> Result<Vec<Instance>, AwsError> {
        let mut pages = self
            .ec2
            .describe_instances()
            .set_filters(filters)
            .max_results(EC2_PAGE_SIZE)
            .into_paginator()
            .send();
        let mut texts = Interner::default();
        let (region, account) = (self.region_text(), self.account_text());
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.errors.map(e))?;
            for reservation in page.reservations() {
                let owner = texts.some(reservation.owner_id());
                instances.extend(reservation.instances().iter().map(|raw| Instance {
                    account_id: owner.clone(),
                    ..ec2_row(raw, &mut texts, &region, &account)
                }));
            }
        }
        Ok(instances)
    }

    /// The SSM nodes among `ids`, asked in chunks the InstanceIds filter accepts.
    async fn ssm_nodes_with_ids(&self, ids: &[String]) -> Result<SsmNodes, AwsError> {
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

    /// SSM's nodes, each page kept as `SsmNode`s only.
    async fn ssm_nodes(
        &self,
        filters: Option<Vec<InstanceInformationStringFilter>>,
    ) -> Result<SsmNodes, AwsError> {
        let mut pages = self
            .ssm
            .describe_instance_information()
            .set_filters(filters)
            .max_results(SSM_PAGE_SIZE)
            .into_paginator()
            .send();
        let mut texts = Interner::default();
        let mut nodes = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.errors.map(e))?;
            for info in page.instance_information_list() {
                if let Some(id) = info.instance_id() {
                    nodes.insert(id.into(), SsmNode::new(info, &mut texts));
                }
            }
        }
        Ok(nodes)
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
                            .map(|tag| (tag.key(), tag.value()))
                            .collect();
                        if let Some(name) = instance.tags.get_shared("Name") {
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
    /// Every row of one image shares its name.
    async fn add_image_names(&self, instances: &mut [Instance]) {
        let ids: BTreeSet<&Arc<str>> = instances
            .iter()
            .filter_map(|i| i.image_id.as_ref())
            .collect();
        let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        for chunk in ids.chunks(IMAGE_IDS_PER_CALL) {
            match self
                .ec2
                .describe_images()
                .set_image_ids(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(out) => names.extend(out.images().iter().filter_map(|image| {
                    Some((image.image_id.clone()?, Arc::from(image.name.as_deref()?)))
                })),
                Err(err) => {
                    tracing::warn!(region = %self.region(), "image names unavailable: {}", self.errors.map(err));
                    return;
                }
            }
        }
        for instance in instances {
            instance.image_name = instance
                .image_id
                .as_deref()
                .and_then(|id| names.get(id).cloned());
        }
    }
}

/// An EC2 instance as a row, its SSM side still empty.
fn ec2_row(
    raw: &aws_sdk_ec2::types::Instance,
    texts: &mut Interner,
    region: &Arc<str>,
    account: &Option<Arc<str>>,
) -> Instance {
    let tags = Tags::from_pairs(
        raw.tags()
            .iter()
            .filter_map(|t| Some((texts.text(t.key()?), texts.text(t.value().unwrap_or("")))))
            .collect(),
    );
    let state = raw
        .state()
        .and_then(|s| s.name())
        .map_or(InstanceState::Other("unknown".into()), |n| {
            InstanceState::from_aws(n.as_str())
        });
    Instance {
        id: InstanceId::from_aws(raw.instance_id().unwrap_or_default()),
        name: tags.get_shared("Name").cloned(),
        tags,
        state,
        ping_status: PingStatus::NotManaged,
        agent_version: None,
        platform: texts.some(raw.platform_details()),
        platform_name: None,
        private_ip: texts.some(raw.private_ip_address()),
        image_id: texts.some(raw.image_id()),
        image_name: None,
        region: region.clone(),
        last_ping: None,
        account: account.clone(),
        account_id: None,
        ec2: ec2_facts(raw, texts),
    }
}

/// A hybrid (`mi-`) node, known to SSM only.
fn hybrid_node(id: &str, node: SsmNode, region: &Arc<str>, account: &Option<Arc<str>>) -> Instance {
    let mut instance = Instance {
        id: InstanceId::from_aws(id),
        name: node.name.clone(),
        tags: Tags::default(),
        state: InstanceState::Hybrid,
        ping_status: PingStatus::NotManaged,
        agent_version: None,
        platform: None,
        platform_name: None,
        private_ip: None,
        image_id: None,
        image_name: None,
        region: region.clone(),
        last_ping: None,
        account: account.clone(),
        account_id: None,
        ec2: Ec2Facts::default(),
    };
    apply_ssm_node(&mut instance, node);
    instance
}

fn apply_ssm_node(instance: &mut Instance, node: SsmNode) {
    instance.ping_status = node.ping_status;
    instance.agent_version = node.agent_version;
    if node.platform.is_some() {
        instance.platform = node.platform;
    }
    instance.platform_name = node.platform_name;
    if instance.private_ip.is_none() {
        instance.private_ip = node.ip;
    }
    instance.last_ping = node.last_ping;
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
fn ec2_facts(raw: &aws_sdk_ec2::types::Instance, texts: &mut Interner) -> Ec2Facts {
    let mut text = |text: Option<&str>| texts.some(text.filter(|t| !t.is_empty()));
    Ec2Facts {
        instance_type: text(raw.instance_type().map(|t| t.as_str())),
        availability_zone: text(raw.placement().and_then(|p| p.availability_zone())),
        launch_time: raw
            .launch_time()
            .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
        vpc_id: text(raw.vpc_id()),
        subnet_id: text(raw.subnet_id()),
        instance_profile: text(raw.iam_instance_profile().and_then(|p| p.arn())),
        public_ip: text(raw.public_ip_address()),
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
