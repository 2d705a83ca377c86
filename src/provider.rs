//! Provider names: one spelling per provider, so a log's "NanoGPT", a LiteLLM "vertex_ai" key
//! and a catalog offer's "vertex" meet, and the provider prefixes model names carry in logs.

use serde::{Deserialize, Serialize};

/// How the provider a record was bought from was found.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProviderFrom {
    /// The log does not tell.
    #[default]
    Unknown,
    /// The envelope's own `provider` field.
    Envelope,
    /// The response's shape: NanoGPT's `cost`/`remainingBalance`, OpenRouter's `usage.cost`,
    /// a Gemini body (from Vertex AI when it carries `createTime` or `trafficType`).
    Shape,
    /// A provider prefix of the model name ("openrouter/", "vertex_ai/", "fal-ai/"...).
    ModelPrefix,
    /// A provider column of a billing export.
    Export,
    /// The log source itself (Claude Code sessions are Anthropic's).
    Source,
    /// The model name is an alias of one provider's offer in the catalog.
    OfferAlias,
}

impl ProviderFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderFrom::Unknown => "unknown",
            ProviderFrom::Envelope => "envelope",
            ProviderFrom::Shape => "shape",
            ProviderFrom::ModelPrefix => "model_prefix",
            ProviderFrom::Export => "export",
            ProviderFrom::Source => "source",
            ProviderFrom::OfferAlias => "offer_alias",
        }
    }

    pub const ALL: [ProviderFrom; 7] = [
        ProviderFrom::Unknown,
        ProviderFrom::Envelope,
        ProviderFrom::Shape,
        ProviderFrom::ModelPrefix,
        ProviderFrom::Export,
        ProviderFrom::Source,
        ProviderFrom::OfferAlias,
    ];

    pub fn from_u8(b: u8) -> Option<ProviderFrom> {
        ProviderFrom::ALL.get(usize::from(b)).copied()
    }
}

/// Other spellings of provider names, as logs, LiteLLM and price pages write them.
const SPELLINGS: &[(&str, &str)] = &[
    ("gemini", "google"),
    ("google-ai-studio", "google"),
    ("google ai studio", "google"),
    ("google_ai_studio", "google"),
    ("vertex_ai", "vertex"),
    ("vertex-ai", "vertex"),
    ("google-vertex", "vertex"),
    ("google vertex", "vertex"),
    ("vertex_ai-image-models", "vertex"),
    ("vertex_ai-language-models", "vertex"),
    ("nano-gpt", "nanogpt"),
    ("nano_gpt", "nanogpt"),
    ("fal_ai", "fal"),
    ("fal-ai", "fal"),
    ("fal.ai", "fal"),
    ("bfl", "black-forest-labs"),
    ("black forest labs", "black-forest-labs"),
    ("amazon-bedrock", "bedrock"),
    ("amazon bedrock", "bedrock"),
    ("aws", "bedrock"),
    ("azure_ai", "azure"),
    ("azure-openai", "azure"),
    ("azure openai", "azure"),
    ("stability-ai", "stability"),
    ("stabilityai", "stability"),
    ("together_ai", "together"),
    ("together-ai", "together"),
];

/// The one spelling of a provider name: lower case, trimmed, known aliases mapped.
pub fn canonical(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    SPELLINGS
        .iter()
        .find(|(a, _)| *a == n)
        .map_or(n, |(_, c)| (*c).to_string())
}

/// Route prefixes of model names that name the provider who sold the request, not the maker
/// ("google/" or "anthropic/" name the maker and say nothing of who sold it).
const PREFIXES: &[(&str, &str)] = &[
    ("openrouter/", "openrouter"),
    ("vertex_ai/", "vertex"),
    ("vertex/", "vertex"),
    ("bedrock/", "bedrock"),
    ("fal-ai/", "fal"),
    ("fal_ai/", "fal"),
    ("fal/", "fal"),
    ("nanogpt/", "nanogpt"),
    ("replicate/", "replicate"),
    ("azure/", "azure"),
    ("azure_ai/", "azure"),
    ("together_ai/", "together"),
];

/// The provider a model name's route prefix names, if any.
pub fn from_model_prefix(model: &str) -> Option<&'static str> {
    let m = model.trim();
    PREFIXES
        .iter()
        .find(|(p, _)| {
            m.len() > p.len() && m.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        })
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_meet() {
        assert_eq!(canonical(" NanoGPT "), "nanogpt");
        assert_eq!(canonical("vertex_ai"), "vertex");
        assert_eq!(canonical("fal-ai"), "fal");
        assert_eq!(canonical("OpenRouter"), "openrouter");
        assert_eq!(canonical("Gemini"), "google");
        assert_eq!(canonical("someone-new"), "someone-new");
    }

    #[test]
    fn prefixes_name_sellers_not_makers() {
        assert_eq!(from_model_prefix("fal-ai/flux-pro/v1.1"), Some("fal"));
        assert_eq!(
            from_model_prefix("OpenRouter/google/gemini-3-pro-image-preview"),
            Some("openrouter")
        );
        assert_eq!(
            from_model_prefix("vertex_ai/gemini-3-pro-image"),
            Some("vertex")
        );
        assert_eq!(from_model_prefix("google/gemini-3-pro-image-preview"), None);
        assert_eq!(from_model_prefix("anthropic/claude-sonnet-4.5"), None);
        assert_eq!(from_model_prefix("fal-ai/"), None);
    }
}
