//! The scenarios used when no `--scenarios` file is given.

pub const BUILTIN_TOML: &str = r#"
[[scenario]]
name = "batch"
batch = true

[[scenario]]
name = "cheapest"
cheapest = true

[[scenario]]
name = "flux-to-sd3"
substitute = { "flux-1.1-pro" = "stable-diffusion-3" }

[[scenario]]
name = "gemini-to-imagen"
substitute = { "gemini-3-pro-image" = "imagen-4-ultra" }

[[scenario]]
name = "google-ai-pro"
subscription = "google-ai-pro"

[[scenario]]
name = "chatgpt-plus"
subscription = "chatgpt-plus"
"#;
