//! Images counted from IMAGE-modality output tokens. Parsers never see the catalog, so a
//! record whose response carried no image keeps its IMAGE tokens, and its count is settled
//! here, once, before it is priced or folded.

use super::pricing::image_tokens;
use super::{Catalog, DEFAULT_IMAGE_SIZE};
use crate::record::{ImageCount, ImageSize, Kind, UsageRecord};

impl Catalog {
    /// Counts the images of a record from its IMAGE tokens and the model's tokens per image
    /// for the size, when the response itself did not list them. The size is the request's;
    /// when the log does not say, the first size whose tokens per image divide the IMAGE tokens
    /// exactly (a 4K Gemini image is 2,000 tokens, a 1K or 2K one 1,120), else the default.
    /// A count that does not come out whole is rounded to the nearest image, at least one.
    /// Records the catalog cannot count keep the count ingest gave them.
    pub fn count_images(&self, r: &mut UsageRecord) {
        if r.image_tokens == 0 || r.image_count == Some(ImageCount::Response) {
            return;
        }
        let Some(model) = self.resolve(&r.model).filter(|m| m.kind == Kind::Image) else {
            return;
        };
        let (p, _) = self.price_on(model, r.time.date_naive());
        let per = match r.image_size {
            Some(size) => image_tokens(p, size),
            None => p
                .image_output_tokens
                .iter()
                .filter(|(_, per)| **per > 0 && r.image_tokens.is_multiple_of(**per))
                .find_map(|(label, per)| Some((ImageSize::parse(label)?, *per)))
                .map(|(size, per)| {
                    r.image_size = Some(size);
                    per
                })
                .or_else(|| image_tokens(p, DEFAULT_IMAGE_SIZE)),
        };
        let Some(per) = per.filter(|&per| per > 0) else {
            return;
        };
        let n = ((r.image_tokens + per / 2) / per).max(1);
        r.images = u32::try_from(n).unwrap_or(u32::MAX);
        r.image_count = Some(ImageCount::Tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{SourceRef, Tokens};
    use crate::text::Text;

    fn gemini(image_tokens: u64, size: Option<ImageSize>) -> UsageRecord {
        UsageRecord {
            source: SourceRef {
                file: Text::from("g.jsonl"),
                line: 1,
                byte: 0,
            },
            model: Text::from("gemini-3-pro-image-preview"),
            tokens: Tokens {
                output: image_tokens,
                ..Tokens::default()
            },
            image_count: Some(ImageCount::Assumed),
            image_tokens,
            image_size: size,
            ..crate::record::sample()
        }
    }

    fn counted(image_tokens: u64, size: Option<ImageSize>) -> (u32, Option<ImageCount>, String) {
        let c = Catalog::builtin().expect("catalog");
        let mut r = gemini(image_tokens, size);
        c.count_images(&mut r);
        let size = r.image_size.map(|s| s.to_string()).unwrap_or_default();
        (r.images, r.image_count, size)
    }

    #[test]
    fn images_come_from_image_tokens_per_size() {
        use ImageCount::Tokens as T;
        // gemini-3-pro-image: 1,120 tokens per 1K or 2K image, 2,000 per 4K image.
        assert_eq!(
            counted(1120, Some(ImageSize::K2)),
            (1, Some(T), "2K".into())
        );
        assert_eq!(
            counted(2240, Some(ImageSize::K2)),
            (2, Some(T), "2K".into())
        );
        assert_eq!(
            counted(2000, Some(ImageSize::K4)),
            (1, Some(T), "4K".into())
        );
        // Size unknown: 2,000 is a whole number of 4K images only; 1,120 first divides as 1K.
        assert_eq!(counted(2000, None), (1, Some(T), "4K".into()));
        assert_eq!(counted(4000, None), (2, Some(T), "4K".into()));
        assert_eq!(counted(1120, None), (1, Some(T), "1K".into()));
        // Not whole: 3,000 / 1,120 = 2.68, the nearest whole image is 3; 500 is still one.
        assert_eq!(
            counted(3000, Some(ImageSize::K2)),
            (3, Some(T), "2K".into())
        );
        assert_eq!(counted(500, Some(ImageSize::K1)), (1, Some(T), "1K".into()));
    }

    #[test]
    fn counts_the_response_gave_or_no_tokens_are_kept() {
        let c = Catalog::builtin().expect("catalog");
        let mut r = gemini(2000, Some(ImageSize::K4));
        r.images = 3;
        r.image_count = Some(ImageCount::Response);
        c.count_images(&mut r);
        assert_eq!((r.images, r.image_count), (3, Some(ImageCount::Response)));
        let mut r = gemini(0, Some(ImageSize::K4));
        c.count_images(&mut r);
        assert_eq!((r.images, r.image_count), (1, Some(ImageCount::Assumed)));
        let mut r = gemini(2000, Some(ImageSize::K4));
        r.model = Text::from("some-unknown-model");
        c.count_images(&mut r);
        assert_eq!((r.images, r.image_count), (1, Some(ImageCount::Assumed)));
    }
}
