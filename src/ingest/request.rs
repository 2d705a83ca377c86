//! Request bodies: the parts that change the price (model, image size and count, quality,
//! search tools), added to what the response said.

use super::fields::{FieldResult, count, string};
use super::members::{Shape, require_object, wrong_member};
use super::response::{Draft, IMAGE_TOOL_MODEL};
use crate::record::{ImageCount, ImageSize, Kind, Status};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

/// The parts of a request body that change the price.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Request<'a> {
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    size: Raw<'a>,
    #[serde(borrow)]
    quality: Raw<'a>,
    #[serde(borrow)]
    n: Raw<'a>,
    #[serde(rename = "generationConfig")]
    generation_config: Option<GenerationConfig<'a>>,
    parameters: Option<ImagenParameters<'a>>,
    tools: Option<Vec<Tool<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GenerationConfig<'a> {
    image_config: Option<ImageConfig<'a>>,
    #[serde(borrow)]
    response_modalities: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ImageConfig<'a> {
    #[serde(borrow)]
    image_size: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ImagenParameters<'a> {
    #[serde(borrow)]
    sample_count: Raw<'a>,
    #[serde(borrow)]
    sample_image_size: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tool<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    /// The image generation tool's model (Responses API).
    #[serde(borrow)]
    model: Raw<'a>,
    google_search: Option<IgnoredAny>,
    #[serde(rename = "googleSearch")]
    google_search_camel: Option<IgnoredAny>,
    google_search_retrieval: Option<IgnoredAny>,
}

const REQUEST_MEMBERS: &[(&str, Shape)] = &[
    ("generationConfig", Shape::Object),
    ("parameters", Shape::Object),
    ("tools", Shape::Array),
];

pub fn parse_request(raw: &RawValue) -> FieldResult<Request<'_>> {
    require_object(raw, "request")?;
    serde_json::from_str(raw.get()).map_err(|e| {
        wrong_member(raw, "request", REQUEST_MEMBERS)
            .unwrap_or_else(|| format!("field request: {e}"))
    })
}

impl Request<'_> {
    /// Adds what the request asked for: model, image size, quality, number of images, tools.
    pub fn apply(&self, d: &mut Draft) -> FieldResult<()> {
        if d.model.is_none() {
            d.model = string(self.model);
        }
        let size = string(self.size)
            .or_else(|| {
                self.generation_config
                    .as_ref()
                    .and_then(|g| g.image_config.as_ref())
                    .and_then(|c| string(c.image_size))
            })
            .or_else(|| {
                self.parameters
                    .as_ref()
                    .and_then(|p| string(p.sample_image_size))
            });
        // The image tool's own call says what it made; the request's size and quality are the
        // main model's, or absent.
        if d.image_tool {
            let tool_model = self.tools.iter().flatten().find_map(|t| {
                (string(t.kind).as_deref() == Some("image_generation"))
                    .then(|| string(t.model))
                    .flatten()
            });
            d.model = Some(tool_model.unwrap_or_else(|| IMAGE_TOOL_MODEL.to_string()));
        } else {
            if let Some(s) = size {
                d.image_size = ImageSize::parse(&s);
                d.kind = Some(Kind::Image);
            }
            if let Some(q) = string(self.quality) {
                d.quality = Some(q.to_ascii_lowercase());
            }
        }
        let wants_image = self
            .generation_config
            .as_ref()
            .and_then(|g| g.response_modalities)
            .is_some_and(|m| m.get().to_ascii_uppercase().contains("IMAGE"));
        if wants_image || self.parameters.is_some() {
            d.kind = Some(Kind::Image);
        }
        // Without images in the response, a successful image request made what it asked for
        // (the catalog may count them from the IMAGE tokens instead, when there are some).
        if d.images == 0
            && d.kind == Some(Kind::Image)
            && d.status
                .is_none_or(|s| matches!(s, Status::Ok | Status::Retry))
        {
            let asked =
                count(self.n, "request.n")?.max(self.parameters.as_ref().map_or(Ok(0), |p| {
                    count(p.sample_count, "request.parameters.sampleCount")
                })?);
            // `as u32` would wrap a huge `n` into a small, plausible image count.
            d.images = u32::try_from(asked.max(1))
                .map_err(|_| format!("field request.n: {asked} images is too many"))?;
            d.image_count = Some(if asked > 0 {
                ImageCount::Request
            } else {
                ImageCount::Assumed
            });
        }
        if let Some(tools) = &self.tools
            && tools.iter().any(|t| {
                t.google_search.is_some()
                    || t.google_search_camel.is_some()
                    || t.google_search_retrieval.is_some()
            })
        {
            d.extras.web_search_grounding = d.extras.web_search_grounding.max(1);
        }
        Ok(())
    }
}
