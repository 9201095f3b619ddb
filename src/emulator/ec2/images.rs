//! DescribeImages for the AMIs the fleet uses.

use super::Ec2Error;
use super::query::{Query, printable};
use super::xml::XmlWriter;
use crate::emulator::fleet::{ACCOUNT_ID, Fleet, Image};
use crate::emulator::pagination;
use crate::emulator::wildcard::matches_wildcard;

const ROOT: &str = "DescribeImagesResponse";

enum ImageFilter {
    ImageId(Vec<String>),
    Name(Vec<String>),
    Architecture(Vec<String>),
    State(Vec<String>),
}

impl ImageFilter {
    fn matches(&self, image: &Image) -> bool {
        let any = |patterns: &[String], actual: &str| {
            patterns
                .iter()
                .any(|pattern| matches_wildcard(pattern, actual))
        };
        match self {
            Self::ImageId(patterns) => any(patterns, &image.id),
            Self::Name(patterns) => any(patterns, &image.name),
            Self::Architecture(patterns) => any(patterns, &image.architecture),
            Self::State(patterns) => any(patterns, "available"),
        }
    }
}

fn parse_filters(query: &Query) -> Result<Vec<ImageFilter>, Ec2Error> {
    query
        .filters()?
        .into_iter()
        .map(|filter| match filter.name.as_str() {
            "image-id" => Ok(ImageFilter::ImageId(filter.values)),
            "name" => Ok(ImageFilter::Name(filter.values)),
            "architecture" => Ok(ImageFilter::Architecture(filter.values)),
            "state" => Ok(ImageFilter::State(filter.values)),
            other => Err(Ec2Error::invalid_parameter(format!(
                "The filter '{}' is invalid",
                printable(other)
            ))),
        })
        .collect()
}

fn is_image_id(id: &str) -> bool {
    id.strip_prefix("ami-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

pub fn describe_images(fleet: &Fleet, query: &Query, request_id: &str) -> Result<String, Ec2Error> {
    let ids = query.list("ImageId");
    if let Some(bad) = ids.iter().find(|id| !is_image_id(id)) {
        return Err(Ec2Error::new(
            "InvalidAMIID.Malformed",
            format!("Invalid id: \"{}\" (expecting \"ami-...\")", printable(bad)),
        ));
    }
    if let Some(missing) = ids.iter().find(|id| fleet.image(id).is_none()) {
        return Err(Ec2Error::new(
            "InvalidAMIID.NotFound",
            format!("The image id '[{missing}]' does not exist"),
        ));
    }
    let max = query.max_results(1..=1000)?;
    let start = query.start_offset()?;
    let filters = parse_filters(query)?;
    let matching: Vec<&Image> = fleet
        .images
        .iter()
        .filter(|image| ids.is_empty() || ids.contains(&image.id))
        .filter(|image| filters.iter().all(|filter| filter.matches(image)))
        .collect();
    let (page, next_token) = pagination::page(&matching, start, max.unwrap_or(usize::MAX));
    let mut xml = XmlWriter::new(ROOT);
    xml.leaf("requestId", request_id);
    xml.open("imagesSet");
    for image in page {
        write_image(&mut xml, image);
    }
    xml.close("imagesSet");
    if let Some(token) = next_token {
        xml.leaf("nextToken", &token);
    }
    Ok(xml.finish(ROOT))
}

fn write_image(xml: &mut XmlWriter, image: &Image) {
    xml.open("item");
    xml.leaf("imageId", &image.id);
    xml.leaf("imageLocation", &format!("{ACCOUNT_ID}/{}", image.name));
    xml.leaf("imageState", "available");
    xml.leaf("imageOwnerId", ACCOUNT_ID);
    xml.leaf("creationDate", &image.creation_date);
    xml.leaf("isPublic", "true");
    xml.leaf("architecture", &image.architecture);
    xml.leaf("imageType", "machine");
    xml.leaf("name", &image.name);
    xml.leaf("description", &image.description);
    xml.leaf("rootDeviceType", "ebs");
    xml.leaf("rootDeviceName", "/dev/xvda");
    xml.leaf("virtualizationType", "hvm");
    xml.leaf("hypervisor", "xen");
    xml.leaf("platformDetails", &image.platform_details);
    xml.close("item");
}
