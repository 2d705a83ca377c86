-- An independent re-implementation of reprice's pricing, in DuckDB SQL, used by the differential
-- test and the end-to-end benchmark. It reads the same JSON lines, prices them from catalog
-- tables that run.py loads from the catalog TOML (cat_*, plan*, scen*), and produces:
--   sav(sidx, scenario, day, model, via, records, actual, cost)   -- savings.csv before rounding
--   fee_day(sidx, scenario, day, fee_num, fee_den)                -- plan fee rows, as fractions
--   totals(sidx, scenario, variable)                              -- scenario totals without fees
-- Money is DECIMAL(38,18) throughout; division, which DuckDB only does in DOUBLE, never touches
-- money: plan fees stay fractions (fee_num / fee_den) for run.py to compare exactly.
-- Placeholders filled in by run.py: __ENVELOPE_FILES__, __BATCH_FILES__.

SET TimeZone = 'UTC';

-- JSON helpers with reprice's reading rules: an explicit null is the same as an absent field;
-- counts may be written as strings; string() yields nothing for non-strings.
CREATE OR REPLACE MACRO jsome(j, p) AS coalesce(json_type(j, p) NOT IN ('NULL'), false);
CREATE OR REPLACE MACRO jstr(j, p) AS
    CASE WHEN json_type(j, p) = 'VARCHAR' THEN json_extract_string(j, p) END;
CREATE OR REPLACE MACRO jcount(j, p) AS coalesce(TRY_CAST(json_extract_string(j, p) AS UBIGINT), 0);
CREATE OR REPLACE MACRO jmoney(j, p) AS
    CASE WHEN jsome(j, p) THEN CAST(trim(json_extract_string(j, p)) AS DECIMAL(38, 18)) END;
CREATE OR REPLACE MACRO per_million(n, price) AS
    CAST(CAST(n AS DECIMAL(20, 0)) * price * CAST('0.000001' AS DECIMAL(7, 6)) AS DECIMAL(38, 18));
-- A JSON time: RFC 3339 text, or Unix seconds (milliseconds past the year 5000).
CREATE OR REPLACE MACRO jtime(j, p) AS
    CASE
        WHEN json_type(j, p) = 'VARCHAR' THEN CAST(CAST(json_extract_string(j, p) AS TIMESTAMPTZ) AS TIMESTAMP)
        WHEN json_type(j, p) IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN
            CASE WHEN CAST(json_extract_string(j, p) AS DOUBLE) > 95617584000
                 THEN make_timestamp(CAST(json_extract_string(j, p) AS BIGINT) * 1000)
                 ELSE make_timestamp(CAST(json_extract_string(j, p) AS BIGINT) * 1000000) END
    END;

CREATE OR REPLACE TEMP TABLE env_raw AS
SELECT * FROM read_json(__ENVELOPE_FILES__, format = 'newline_delimited', filename = true,
    columns = {timestamp: 'JSON', api_key: 'JSON', request: 'JSON', response: 'JSON',
               status: 'JSON', model: 'JSON', id: 'JSON', attempt: 'JSON', retry_of: 'JSON',
               batch: 'JSON', provider: 'JSON', error: 'JSON'});

CREATE OR REPLACE TEMP TABLE batch_raw AS
SELECT * FROM read_json(__BATCH_FILES__, format = 'newline_delimited', filename = true,
    columns = {id: 'JSON', custom_id: 'JSON', response: 'JSON', error: 'JSON',
               timestamp: 'JSON', model: 'JSON', api_key: 'JSON'});

-- One row per line in a common shape: the response body (rs), the request body (rq), and what
-- the line around them says.
CREATE OR REPLACE TEMP TABLE draft AS
SELECT
    'envelope' AS src,
    CASE WHEN jsome(response, '$') THEN response END AS rs,
    CASE WHEN jsome(request, '$') THEN request END AS rq,
    jtime(timestamp, '$') AS line_time,
    jstr(api_key, '$') AS api_key,
    jstr(model, '$') AS line_model,
    jstr(id, '$') AS line_id,
    jstr(provider, '$') AS line_provider,
    -- HTTP status: a number (2xx = ok) or an outcome word.
    CASE
        WHEN NOT jsome(status, '$') THEN NULL
        WHEN json_type(status, '$') = 'VARCHAR' THEN
            CASE
                WHEN lower(json_extract_string(status, '$')) IN ('ok', 'success', 'succeeded', 'completed') THEN 'ok'
                WHEN lower(json_extract_string(status, '$')) IN ('failed', 'error') THEN 'failed'
                WHEN lower(json_extract_string(status, '$')) IN ('rejected', 'content_policy', 'blocked') THEN 'rejected'
                WHEN lower(json_extract_string(status, '$')) = 'retry' THEN 'retry'
                WHEN TRY_CAST(json_extract_string(status, '$') AS INTEGER) BETWEEN 200 AND 299 THEN 'ok'
                ELSE 'failed'
            END
        WHEN TRY_CAST(json_extract_string(status, '$') AS BIGINT) BETWEEN 200 AND 299 THEN 'ok'
        ELSE 'failed'
    END AS http_status,
    jsome(error, '$') AS line_error,
    (jcount(attempt, '$') > 1 OR jsome(retry_of, '$')) AS is_retry,
    coalesce(CAST(batch AS VARCHAR) = 'true', false) AS batch,
    filename
FROM env_raw
UNION ALL BY NAME
SELECT
    'batch' AS src,
    CASE WHEN jsome(response, '$.body') THEN json_extract(response, '$.body') END AS rs,
    NULL::JSON AS rq,
    jtime(timestamp, '$') AS line_time,
    jstr(api_key, '$') AS api_key,
    jstr(model, '$') AS line_model,
    'batch:' || jstr(custom_id, '$') || ':' ||
        coalesce(jstr(response, '$.request_id'), jstr(id, '$'), '') AS line_id,
    NULL AS line_provider,
    CASE WHEN jsome(error, '$')
          OR (jcount(response, '$.status_code') <> 0
              AND jcount(response, '$.status_code') NOT BETWEEN 200 AND 299)
         THEN 'failed' END AS http_status,
    false AS line_error,
    false AS is_retry,
    true AS batch,
    filename
FROM batch_raw;

-- Raw lines are no longer needed; dropping them keeps peak memory down on large logs.
DROP TABLE env_raw;
DROP TABLE batch_raw;

-- What the response body says (shared by both sources).
CREATE OR REPLACE TEMP TABLE body AS
SELECT *,
    jsome(rs, '$.usage') AS has_usage,
    jsome(rs, '$.usageMetadata') AS has_gemini,
    (jsome(rs, '$.usage.cache_creation_input_tokens') OR jsome(rs, '$.usage.cache_read_input_tokens')) AS anthropic,
    CASE WHEN jsome(rs, '$.usage.prompt_tokens_details.cached_tokens')
         THEN jcount(rs, '$.usage.prompt_tokens_details.cached_tokens')
         ELSE jcount(rs, '$.usage.input_tokens_details.cached_tokens') END AS oa_cached,
    CASE WHEN jsome(rs, '$.usage.completion_tokens_details.reasoning_tokens')
         THEN jcount(rs, '$.usage.completion_tokens_details.reasoning_tokens')
         ELSE jcount(rs, '$.usage.output_tokens_details.reasoning_tokens') END AS oa_reasoning,
    CASE WHEN jsome(rs, '$.usage.prompt_tokens') THEN jcount(rs, '$.usage.prompt_tokens')
         ELSE jcount(rs, '$.usage.input_tokens') END AS oa_input,
    CASE WHEN jsome(rs, '$.usage.completion_tokens') THEN jcount(rs, '$.usage.completion_tokens')
         ELSE jcount(rs, '$.usage.output_tokens') END AS oa_output,
    CASE WHEN json_type(rs, '$.data') = 'ARRAY' THEN json_array_length(rs, '$.data') END AS n_data,
    CASE WHEN json_type(rs, '$.predictions') = 'ARRAY' THEN json_array_length(rs, '$.predictions') END AS n_pred,
    coalesce(len(list_filter(json_extract(rs, '$.candidates[*].content.parts[*].inlineData'),
                             x -> json_type(x) <> 'NULL')), 0) AS n_inline,
    coalesce(list_has_any(json_extract_string(rs, '$.candidates[*].finishReason'),
        ['SAFETY', 'PROHIBITED_CONTENT', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT',
         'BLOCKLIST', 'SPII', 'IMAGE_RECITATION']), false)
      OR jsome(rs, '$.promptFeedback.blockReason')
      OR coalesce(jstr(rs, '$.stop_reason') = 'refusal', false) AS body_rejected,
    jsome(rs, '$.error') AS body_error,
    coalesce(len(list_filter(json_extract(rs, '$.candidates[*].groundingMetadata'),
                             x -> json_type(x) <> 'NULL')), 0) > 0 AS grounded,
    -- What the request asked for.
    coalesce(jstr(rq, '$.size'), jstr(rq, '$.generationConfig.imageConfig.imageSize'),
             jstr(rq, '$.parameters.sampleImageSize')) AS size_text,
    jsome(rq, '$.parameters') AS has_params,
    coalesce(upper(CAST(json_extract(rq, '$.generationConfig.responseModalities') AS VARCHAR)) LIKE '%IMAGE%', false) AS wants_image,
    greatest(jcount(rq, '$.n'), jcount(rq, '$.parameters.sampleCount')) AS asked_images,
    coalesce(len(list_filter(json_extract(rq, '$.tools[*]'), t ->
        jsome(t, '$.google_search') OR jsome(t, '$.googleSearch') OR jsome(t, '$.google_search_retrieval'))), 0) > 0 AS search_tool
FROM draft;

CREATE OR REPLACE TEMP TABLE rec0 AS
WITH s AS (
    SELECT *,
        CASE
            WHEN body_rejected THEN 'rejected'
            WHEN body_error THEN
                CASE WHEN CAST(json_extract(rs, '$.error') AS VARCHAR) SIMILAR TO '.*(content_policy|moderation_blocked|safety).*'
                     THEN 'rejected' ELSE 'failed' END
            WHEN jstr(rs, '$.status') = 'failed' THEN 'failed'
        END AS body_status
    FROM body
), s2 AS (
    SELECT *,
        -- The body knows better whether a failure was a policy rejection; the line fills in.
        CASE WHEN src = 'batch' AND http_status IS NOT NULL THEN coalesce(body_status, 'failed')
             ELSE coalesce(body_status, http_status, CASE WHEN line_error THEN 'failed' END) END AS status1,
        CASE WHEN size_text IS NULL THEN NULL
             WHEN upper(trim(size_text)) IN ('1K', '2K', '4K') THEN upper(trim(size_text))
             WHEN regexp_matches(trim(size_text), '^\s*0*[1-9][0-9]{0,8}\s*[xX×]\s*0*[1-9][0-9]{0,8}\s*$')
                 THEN CAST(CAST(trim(regexp_extract(size_text, '^\s*([0-9]+)\s*[xX×]', 1)) AS BIGINT) AS VARCHAR) || 'x' ||
                      CAST(CAST(trim(regexp_extract(size_text, '[xX×]\s*([0-9]+)\s*$', 1)) AS BIGINT) AS VARCHAR)
        END AS image_size,
        (n_data IS NOT NULL OR n_pred IS NOT NULL OR n_inline > 0 OR size_text IS NOT NULL
         OR wants_image OR has_params) AS is_image,
        coalesce(CASE WHEN n_inline > 0 THEN n_inline END, n_pred, n_data, 0) AS images0,
        coalesce(jstr(rs, '$.model'), jstr(rs, '$.modelVersion')) AS body_model
    FROM s
)
SELECT
    src, filename,
    coalesce(line_id, jstr(rs, '$.id'), jstr(rs, '$.responseId')) AS id,
    coalesce(line_time, jtime(rs, '$.created'), jtime(rs, '$.created_at')) AS t,
    api_key,
    CASE
        WHEN src = 'batch' THEN coalesce(body_model, line_model)
        ELSE coalesce(line_model, body_model, jstr(rq, '$.model'))
    END AS model_raw,
    CASE WHEN is_image THEN 'image' ELSE 'text' END AS kind,
    CASE WHEN is_retry AND coalesce(status1, 'ok') = 'ok' THEN 'retry' ELSE coalesce(status1, 'ok') END AS status,
    -- Five disjoint token counts: OpenAI counts cached and reasoning tokens inside its totals,
    -- Anthropic reports cache tokens beside input, Gemini has its own names.
    CASE WHEN has_gemini THEN jcount(rs, '$.usageMetadata.promptTokenCount') + jcount(rs, '$.usageMetadata.toolUsePromptTokenCount') - jcount(rs, '$.usageMetadata.cachedContentTokenCount')
         WHEN has_usage AND anthropic THEN oa_input
         WHEN has_usage THEN oa_input - oa_cached ELSE 0 END AS t_in,
    CASE WHEN has_gemini THEN jcount(rs, '$.usageMetadata.candidatesTokenCount')
         WHEN has_usage THEN oa_output - oa_reasoning ELSE 0 END AS t_out,
    CASE WHEN has_gemini THEN jcount(rs, '$.usageMetadata.thoughtsTokenCount')
         WHEN has_usage THEN oa_reasoning ELSE 0 END AS t_think,
    CASE WHEN has_gemini THEN jcount(rs, '$.usageMetadata.cachedContentTokenCount')
         WHEN has_usage AND anthropic THEN jcount(rs, '$.usage.cache_read_input_tokens')
         WHEN has_usage THEN oa_cached ELSE 0 END AS t_cr,
    CASE WHEN has_gemini THEN 0
         WHEN has_usage AND anthropic THEN jcount(rs, '$.usage.cache_creation_input_tokens')
         ELSE 0 END AS t_cw,
    -- Without images in the response, an image request counts what it asked for, unless the
    -- body or the line already settled the outcome.
    CASE WHEN images0 = 0 AND is_image AND status1 IS NULL THEN greatest(asked_images, 1)
         ELSE images0 END AS images,
    image_size,
    CASE WHEN jstr(rq, '$.quality') IS NOT NULL THEN lower(jstr(rq, '$.quality')) END AS quality,
    batch,
    CASE WHEN grounded OR search_tool THEN 1 ELSE 0 END AS x_grounding,
    coalesce(jmoney(rs, '$.cost'), CASE WHEN has_usage THEN jmoney(rs, '$.usage.cost') END) AS billed,
    line_provider,
    -- The seller a response's shape gives away: NanoGPT's cost and balance, OpenRouter's
    -- usage.cost, a Gemini body (from Vertex AI with createTime or trafficType).
    CASE WHEN jsome(rs, '$.remainingBalance') OR jsome(rs, '$.cost') THEN 'nanogpt'
         WHEN jsome(rs, '$.usage.cost') THEN 'openrouter'
         WHEN has_gemini THEN
             CASE WHEN jsome(rs, '$.createTime') OR jsome(rs, '$.usageMetadata.trafficType')
                  THEN 'vertex' ELSE 'google' END
    END AS shape_seller
FROM s2;

DROP TABLE body;
DROP TABLE draft;

-- NanoGPT's web-search suffixes come off the model name; then one record per id, the first in
-- (time, id, file) order; lines without an id are all kept.
CREATE OR REPLACE TEMP TABLE rec_d AS
WITH x AS (
    SELECT *,
        CASE WHEN model_raw LIKE '%:online/linkup-deep' THEN 1 ELSE 0 END AS x_deep,
        CASE WHEN model_raw LIKE '%:online' THEN 1 ELSE 0 END AS x_std,
        CASE WHEN model_raw LIKE '%:online/linkup-deep' THEN left(model_raw, length(model_raw) - 19)
             WHEN model_raw LIKE '%:online' THEN left(model_raw, length(model_raw) - 7)
             ELSE model_raw END AS model
    FROM rec0
    WHERE model_raw IS NOT NULL AND trim(model_raw) <> '' AND t IS NOT NULL
)
SELECT * FROM x
QUALIFY id IS NULL OR row_number() OVER (PARTITION BY id ORDER BY t, filename) = 1;

-- The catalog model each logged name resolves to, tried as logged, without a route prefix,
-- without a release date, without "-latest"; the first form the catalog knows wins.
CREATE OR REPLACE MACRO undated(n) AS
    regexp_replace(regexp_replace(n, '^(.+)-[0-9]{8}$', '\1'), '^(.+)-[0-9]{4}-[0-9]{2}-[0-9]{2}$', '\1');
CREATE OR REPLACE TEMP TABLE model_map AS
WITH names AS (
    SELECT model, lower(trim(model)) AS full_name, list_last(string_split(lower(trim(model)), '/')) AS bare
    FROM (SELECT DISTINCT model FROM rec_d)
), forms AS (
    SELECT model, list_distinct(list_filter([
        full_name, bare,
        undated(full_name), regexp_replace(undated(full_name), '-latest$', ''),
        undated(bare), regexp_replace(undated(bare), '-latest$', '')], n -> n <> '')) AS forms
    FROM names
), cands AS (
    SELECT model, unnest(forms) AS cand, generate_subscripts(forms, 1) AS prio FROM forms
)
SELECT model, arg_min(n.mid, prio) AS mid, arg_min(n.omid, prio) AS alias_omid
FROM cands JOIN cat_name n ON n.name = cands.cand
GROUP BY model;

-- The seller the line names (the envelope's provider, else the response's shape, else a route
-- prefix of the model name), and the offer the record is priced at: that seller's offer of
-- its model, else the offer its name is an alias of, else the maker's (omid = mid).
CREATE OR REPLACE TEMP TABLE rec1 AS
WITH a AS (
    SELECT d.*, m.mid, m.alias_omid,
        coalesce(
            CASE WHEN d.line_provider IS NOT NULL THEN
                coalesce((SELECT ps.provider FROM provider_spelling ps
                          WHERE ps.alias = lower(trim(d.line_provider))),
                         lower(trim(d.line_provider))) END,
            d.shape_seller,
            (SELECT min(sp.provider) FROM seller_prefix sp
             WHERE starts_with(lower(trim(d.model)), sp.prefix)
               AND length(trim(d.model)) > length(sp.prefix))) AS seller
    FROM rec_d d LEFT JOIN model_map m USING (model)
)
SELECT a.*,
    coalesce(so.omid, CASE WHEN a.alias_omid <> '' THEN a.alias_omid END, a.mid) AS omid,
    CAST(a.t AS DATE) AS day,       -- report days and hours in UTC (reprice's default --tz)
    hour(a.t) AS hour,
    row_number() OVER () AS rid
FROM a LEFT JOIN cat_offer so ON so.mid = a.mid AND so.provider = a.seller;

-- The price version in force on a record's UTC day: the latest effective on or before it, or
-- the first one for days before any.
CREATE OR REPLACE TEMP TABLE price_range AS
SELECT *,
    CASE WHEN row_number() OVER (PARTITION BY mid ORDER BY effective) = 1 THEN DATE '0001-01-01' ELSE effective END AS valid_from,
    coalesce(lead(effective) OVER (PARTITION BY mid ORDER BY effective), DATE '9999-12-31') AS valid_to
FROM cat_price;

-- Extras (web search) at the price in force on the record's UTC day, chosen like model prices.
CREATE OR REPLACE TEMP TABLE extra_range AS
SELECT id AS xid, price,
    CASE WHEN row_number() OVER (PARTITION BY id ORDER BY effective) = 1 THEN DATE '0001-01-01' ELSE effective END AS valid_from,
    coalesce(lead(effective) OVER (PARTITION BY id ORDER BY effective), DATE '9999-12-31') AS valid_to
FROM cat_extra;

CREATE OR REPLACE TEMP TABLE rec AS
SELECT r.*,
    CAST(coalesce(g.price * r.x_grounding, 0) + coalesce(s.price * r.x_std, 0)
         + coalesce(d.price * r.x_deep, 0) AS DECIMAL(38, 18)) AS extras_cost
FROM rec1 r
LEFT JOIN extra_range g ON g.xid = 'web-search-grounding' AND r.day >= g.valid_from AND r.day < g.valid_to
LEFT JOIN extra_range s ON s.xid = 'search-standard' AND r.day >= s.valid_from AND r.day < s.valid_to
LEFT JOIN extra_range d ON d.xid = 'search-deep' AND r.day >= d.valid_from AND r.day < d.valid_to;

-- Every record on every model it may be priced on, with the usage each pricing sees.
-- own = true: the record's own model, with the tokens it measured; own = false: another model,
-- which counts image output with its own tokens per image.
CREATE OR REPLACE TEMP TABLE pair AS
SELECT r.rid, m.mid, m.ord, m.provider, m.kind AS m_kind, m.default_quality, (m.mid = r.mid) AS own
FROM rec r JOIN cat_model m ON m.kind = r.kind OR m.mid = r.mid
   OR m.mid IN (SELECT to_mid FROM scen_sub s WHERE s.from_mid = r.mid)
UNION ALL
-- The record's own model as sold by each other provider: the same tokens, the offer's prices.
SELECT r.rid, o.omid AS mid, m.ord, o.provider, m.kind AS m_kind, m.default_quality, true AS own
FROM rec r JOIN cat_offer o ON o.mid = r.mid AND o.omid <> o.mid
JOIN cat_model m ON m.mid = r.mid;

CREATE OR REPLACE TEMP TABLE cost AS
WITH v AS (
    SELECT p.*, r.day, r.images, r.image_size, r.quality, r.t_in, r.t_out, r.t_think, r.t_cr, r.t_cw,
        r.extras_cost, r.batch AS rec_batch,
        pv.effective, pv.input_pm, pv.output_pm, pv.thinking_pm, pv.cache_read_pm, pv.cache_write_pm,
        pv.batch_discount, pv.has_images,
        coalesce(r.image_size, '1024x1024') AS size_exact,
        CASE WHEN coalesce(r.image_size, '1024x1024') IN ('1K', '2K', '4K') THEN coalesce(r.image_size, '1024x1024')
             WHEN greatest(CAST(split_part(coalesce(r.image_size, '1024x1024'), 'x', 1) AS BIGINT),
                           CAST(split_part(coalesce(r.image_size, '1024x1024'), 'x', 2) AS BIGINT)) <= 1536 THEN '1K'
             WHEN greatest(CAST(split_part(coalesce(r.image_size, '1024x1024'), 'x', 1) AS BIGINT),
                           CAST(split_part(coalesce(r.image_size, '1024x1024'), 'x', 2) AS BIGINT)) <= 2560 THEN '2K'
             ELSE '4K' END AS size_tier,
        CASE WHEN r.quality IS NOT NULL AND lower(r.quality) <> 'auto' THEN r.quality ELSE p.default_quality END AS want_quality
    FROM pair p JOIN rec r USING (rid)
    JOIN price_range pv ON pv.mid = p.mid AND r.day >= pv.valid_from AND r.day < pv.valid_to
), ikey AS (
    SELECT DISTINCT mid, effective, size_exact, size_tier, coalesce(want_quality, chr(0)) AS wq FROM v
), img AS (
    -- The most specific per-image price: exact pixels, then size class, then any size; within
    -- each, the first listed whose quality fits. Looked up once per distinct request shape.
    SELECT k.mid, k.effective, k.size_exact, k.size_tier, k.wq,
        arg_min(ip.price, (CASE WHEN lower(ip.size) = lower(k.size_exact) THEN 0
                                WHEN lower(ip.size) = lower(k.size_tier) THEN 1 ELSE 2 END) * 100000 + ip.ord) AS image_price
    FROM ikey k JOIN cat_image_price ip ON ip.mid = k.mid AND ip.effective = k.effective
    WHERE (ip.quality IS NULL OR (k.wq <> chr(0) AND lower(ip.quality) = lower(k.wq)))
      AND (ip.size IS NULL OR lower(ip.size) IN (lower(k.size_exact), lower(k.size_tier)))
    GROUP BY ALL
), tok AS (
    SELECT k.mid, k.effective, k.size_exact, k.size_tier,
        arg_min(it.tokens, CASE WHEN lower(it.size) = lower(k.size_exact) THEN 0 ELSE 1 END) AS per_image
    FROM (SELECT DISTINCT mid, effective, size_exact, size_tier FROM ikey) k
    JOIN cat_image_tokens it ON it.mid = k.mid AND it.effective = k.effective
    WHERE lower(it.size) IN (lower(k.size_exact), lower(k.size_tier))
    GROUP BY ALL
), u AS (
    SELECT v.*, img.image_price, tok.per_image,
        (v.m_kind = 'image' AND v.has_images) AS per_image_model,
        (v.m_kind = 'image' AND v.images > 0 AND (NOT v.own OR v.t_out = 0)) AS counts_image_tokens
    FROM v
    LEFT JOIN img ON img.mid = v.mid AND img.effective = v.effective AND img.size_exact = v.size_exact
        AND img.size_tier = v.size_tier AND img.wq = coalesce(v.want_quality, chr(0))
    LEFT JOIN tok ON tok.mid = v.mid AND tok.effective = v.effective AND tok.size_exact = v.size_exact
        AND tok.size_tier = v.size_tier
), w AS (
    SELECT u.*,
        -- On another image model: its own tokens per image, no thinking, and nothing for a
        -- request that produced no image.
        CASE WHEN counts_image_tokens THEN per_image * images
             WHEN m_kind = 'image' AND NOT own AND images = 0 THEN 0
             ELSE t_out END AS e_out,
        CASE WHEN m_kind = 'image' AND NOT own THEN 0 ELSE t_think END AS e_think,
        coalesce(cache_read_pm, input_pm) AS cr_pm,
        coalesce(cache_write_pm, input_pm) AS cw_pm,
        coalesce(thinking_pm, output_pm) AS th_pm
    FROM u
), base AS (
    SELECT rid, mid, own, ord, provider, m_kind, extras_cost, batch_discount, rec_batch,
        CASE
            WHEN per_image_model THEN
                CASE WHEN images > 0 AND image_price IS NULL THEN NULL
                     ELSE CAST(CASE WHEN images > 0 THEN image_price * images ELSE 0 END AS DECIMAL(38, 18))
                          + coalesce(per_million(t_in, input_pm), 0) END
            WHEN counts_image_tokens AND per_image IS NULL THEN NULL
            WHEN (t_in > 0 AND input_pm IS NULL) OR (e_out > 0 AND output_pm IS NULL)
              OR (e_think > 0 AND th_pm IS NULL) OR (t_cr > 0 AND cr_pm IS NULL)
              OR (t_cw > 0 AND cw_pm IS NULL) THEN NULL
            ELSE coalesce(per_million(t_in, input_pm), 0) + coalesce(per_million(e_out, output_pm), 0)
               + coalesce(per_million(e_think, th_pm), 0) + coalesce(per_million(t_cr, cr_pm), 0)
               + coalesce(per_million(t_cw, cw_pm), 0)
        END AS variable
    FROM w
)
, tiers AS (
    SELECT *,
        CASE WHEN batch_discount IS NOT NULL
             THEN CAST(variable * (1 - batch_discount) AS DECIMAL(38, 18)) + extras_cost END AS batch_cost,
        variable + extras_cost AS standard_cost
    FROM base
)
SELECT rid, mid, own, ord, provider, m_kind,
    -- At the record's own tier; another model without that tier is priced at its standard one.
    CASE WHEN rec_batch THEN batch_cost ELSE standard_cost END AS at_tier,
    CASE WHEN NOT rec_batch THEN standard_cost
         WHEN batch_discount IS NULL AND NOT own THEN standard_cost
         ELSE batch_cost END AS at_tier_or_standard,
    standard_cost, batch_cost
FROM tiers;

-- What was paid: the log's billed cost, else the catalog price at the record's tier.
CREATE OR REPLACE TEMP TABLE priced AS
SELECT r.*, c.at_tier AS list,
    coalesce(r.billed, c.at_tier, CAST(0 AS DECIMAL(38, 18))) AS actual,
    m.kind AS model_kind
FROM rec r
LEFT JOIN cost c ON c.rid = r.rid AND c.mid = r.omid AND c.own
LEFT JOIN cat_model m ON m.mid = r.mid;

-- Which records each scenario may change: empty lists mean all.
CREATE OR REPLACE TEMP TABLE scen_f AS
SELECT s.*,
    coalesce((SELECT list(k.key) FROM scen_key k WHERE k.sidx = s.sidx), []) AS keys,
    coalesce((SELECT list(k.mid) FROM scen_model k WHERE k.sidx = s.sidx), []) AS models,
    coalesce((SELECT list(k.hour) FROM scen_hour k WHERE k.sidx = s.sidx), []) AS hours,
    coalesce((SELECT list(k.allow) FROM scen_allow k WHERE k.sidx = s.sidx), []) AS allow
FROM scen s;
CREATE OR REPLACE MACRO passes(s, p) AS
    p.mid IS NOT NULL
    AND (len(s.keys) = 0 OR coalesce(list_contains(s.keys, p.api_key), false))
    AND (len(s.models) = 0 OR list_contains(s.models, p.mid))
    AND (len(s.hours) = 0 OR list_contains(s.hours, p.hour));

-- Batch: every component scales, so what was actually paid scales (extras do not).
CREATE OR REPLACE TEMP TABLE sc_batch AS
SELECT s.sidx, p.rid,
    CAST((p.actual - p.extras_cost) * (1 - pv.batch_discount) AS DECIMAL(38, 18)) + p.extras_cost AS cost,
    'batch tier' AS via
FROM scen_f s JOIN priced p ON s.action = 'batch' AND NOT p.batch
JOIN price_range pv ON pv.mid = p.omid AND p.day >= pv.valid_from AND p.day < pv.valid_to
WHERE pv.batch_discount IS NOT NULL AND passes(s, p);

CREATE OR REPLACE TEMP TABLE sc_sub AS
SELECT s.sidx, p.rid, c.at_tier_or_standard AS cost, ss.to_mid AS via
FROM scen_f s JOIN scen_sub ss ON ss.sidx = s.sidx
JOIN priced p ON p.mid = ss.from_mid
JOIN cost c ON c.rid = p.rid AND c.mid = ss.to_mid AND NOT c.own
WHERE c.at_tier_or_standard IS NOT NULL AND passes(s, p);

-- Cheapest: the first model in catalog order whose price is strictly below what was paid and
-- below every model before it, among those rated at least the original's quality score less
-- the scenario's tolerance; with a score missing on either side, only models allow lists.
CREATE OR REPLACE TEMP TABLE sc_cheap AS
SELECT s.sidx, p.rid,
    arg_min(c.at_tier_or_standard, [c.at_tier_or_standard, CAST(c.ord AS DECIMAL(38, 18))]) AS cost,
    arg_min(c.mid, [c.at_tier_or_standard, CAST(c.ord AS DECIMAL(38, 18))]) AS via
FROM scen_f s JOIN priced p ON s.action = 'cheapest'
JOIN cost c ON c.rid = p.rid AND NOT c.own AND c.m_kind = p.kind AND c.mid <> p.mid
JOIN cat_model om ON om.mid = p.mid
JOIN cat_model cm ON cm.mid = c.mid
WHERE c.at_tier_or_standard IS NOT NULL AND c.at_tier_or_standard < p.actual
  AND (len(s.allow) = 0 OR list_contains(s.allow, c.mid) OR list_contains(s.allow, c.provider))
  AND CASE WHEN om.score IS NOT NULL AND cm.score IS NOT NULL
           THEN cm.score + s.min_delta >= om.score
           ELSE list_contains(s.allow, c.mid) OR list_contains(s.allow, c.provider) END
  AND passes(s, p)
GROUP BY s.sidx, p.rid;

-- Provider switches: the record's own model at another provider's offer, at the batch tier
-- when the scenario or the record is on it and the offer has one, else at the standard tier.
CREATE OR REPLACE MACRO offer_tier(want_batch, c) AS
    CASE WHEN want_batch AND c.batch_cost IS NOT NULL THEN c.batch_cost ELSE c.standard_cost END;
CREATE OR REPLACE TEMP TABLE sc_switch AS
WITH w AS (
    SELECT s.sidx, s.sbatch, p.rid, p.mid, p.batch AS rec_batch, f.provider AS from_p,
        coalesce(sw.to_p, star.to_p) AS to_p
    FROM scen_f s JOIN priced p ON s.action = 'switch'
    JOIN cat_offer f ON f.omid = p.omid
    LEFT JOIN scen_switch sw ON sw.sidx = s.sidx AND sw.from_p = f.provider
    LEFT JOIN scen_switch star ON star.sidx = s.sidx AND star.from_p = '*'
    WHERE passes(s, p)
)
SELECT w.sidx, w.rid, offer_tier(w.sbatch OR w.rec_batch, c) AS cost, 'provider switch' AS via,
    w.from_p, w.to_p
FROM w JOIN cat_offer t ON t.mid = w.mid AND t.provider = w.to_p
JOIN cost c ON c.rid = w.rid AND c.mid = t.omid AND c.own
WHERE offer_tier(w.sbatch OR w.rec_batch, c) IS NOT NULL
  -- Staying with the same provider changes only the tier, when the scenario asks for batch.
  AND (w.to_p <> w.from_p OR (w.sbatch AND NOT w.rec_batch AND c.batch_cost IS NOT NULL));

-- Cheapest provider: of the model's other offers (the maker's among them), the cheapest below
-- what was paid.
CREATE OR REPLACE TEMP TABLE sc_cheap_provider AS
WITH c AS (
    SELECT s.sidx, p.rid, p.actual, f.provider AS from_p, o.provider AS to_p, o.ord,
        offer_tier(s.sbatch OR p.batch, c) AS cost
    FROM scen_f s JOIN priced p ON s.action = 'cheapest_provider'
    JOIN cat_offer f ON f.omid = p.omid
    JOIN cat_offer o ON o.mid = p.mid AND o.omid <> p.omid
    JOIN cost c ON c.rid = p.rid AND c.mid = o.omid AND c.own
    WHERE passes(s, p)
)
SELECT sidx, rid, min(cost) AS cost, 'provider switch' AS via, any_value(from_p) AS from_p,
    arg_min(to_p, [cost, CAST(ord AS DECIMAL(38, 18))]) AS to_p
FROM c WHERE cost IS NOT NULL AND cost < actual
GROUP BY sidx, rid;

-- Savings per (scenario, model, from provider -> to provider), as summary.json's providers.
CREATE OR REPLACE TEMP TABLE switch_pairs AS
SELECT s.name AS scenario, p.mid AS model, o.from_p, o.to_p, count(*) AS records,
    sum(p.actual) AS actual, sum(o.cost) AS cost
FROM (SELECT sidx, rid, cost, from_p, to_p FROM sc_switch
      UNION ALL SELECT sidx, rid, cost, from_p, to_p FROM sc_cheap_provider) o
JOIN priced p USING (rid) JOIN scen s USING (sidx)
GROUP BY ALL;

-- Subscriptions: per seat, day by day in time order, usage up to the seat's daily quota is
-- covered by its fee; the rest stays at pay-as-you-go prices. A failed or rejected image
-- request takes one unit. Seats: each api key (per-key), one for all, or named by a map whose
-- "*" seats every other key; a key without a seat stays at pay-as-you-go prices.
CREATE OR REPLACE TEMP TABLE plan_use AS
SELECT * FROM (
    SELECT s.sidx, p.rid, p.day, p.t, p.id, p.filename, p.actual, p.extras_cost, pl.pid, pl.daily_quota,
        CASE WHEN pl.unit = 'requests' THEN 1
             WHEN p.kind = 'image' THEN greatest(p.images, CASE WHEN p.status <> 'ok' THEN 1 ELSE 0 END)
             ELSE 0 END AS units,
        CASE s.seats_kind
            WHEN 'per-key' THEN coalesce(p.api_key, '(no key)')
            WHEN 'one' THEN '(shared)'
            ELSE coalesce((SELECT ss.seat FROM scen_seat ss WHERE ss.sidx = s.sidx AND ss.key = p.api_key),
                          (SELECT ss.seat FROM scen_seat ss WHERE ss.sidx = s.sidx AND ss.key = '*'))
        END AS seat
    FROM scen_f s JOIN plan pl ON s.action = 'subscription' AND pl.pid = s.pid
    JOIN plan_model pm ON pm.pid = pl.pid
    JOIN priced p ON p.mid = pm.mid
    WHERE passes(s, p)
) WHERE seat IS NOT NULL;

-- Seats bought: the named ones of a map, else those that used the plan, at least one.
CREATE OR REPLACE TEMP TABLE seat_n AS
SELECT s.sidx, s.name,
    CASE s.seats_kind
        WHEN 'one' THEN 1
        WHEN 'map' THEN (SELECT count(DISTINCT ss.seat) FROM scen_seat ss WHERE ss.sidx = s.sidx)
        ELSE greatest(1, (SELECT count(DISTINCT u.seat) FROM plan_use u WHERE u.sidx = s.sidx AND u.units > 0))
    END AS n
FROM scen s WHERE s.action = 'subscription';

CREATE OR REPLACE TEMP TABLE sc_plan AS
WITH q AS (
    SELECT *,
        coalesce(sum(units) OVER (PARTITION BY sidx, seat, day ORDER BY t, id, filename
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS used_before
    FROM plan_use WHERE units > 0
), c AS (
    SELECT *, CASE WHEN daily_quota IS NULL THEN units
                   ELSE least(units, greatest(daily_quota - used_before, 0)) END AS covered
    FROM q
)
SELECT sidx, rid,
    CASE WHEN covered = 0 THEN actual
         WHEN covered = units THEN extras_cost
         -- A partly covered multi-image request needs a division DuckDB only does in DOUBLE:
         -- left NULL so run.py reports it instead of comparing an inexact figure.
         ELSE NULL END AS cost,
    CASE WHEN covered > 0 THEN pid || ' quota' ELSE '' END AS via
FROM c;

-- The records a scenario re-priced (or looked at, for plans); every other record keeps its
-- actual cost under the scenario.
CREATE OR REPLACE TEMP TABLE sc_over AS
SELECT o.sidx, o.rid, o.cost, o.via, p.day, coalesce(p.mid, '(unknown)') AS model, p.actual
FROM (SELECT sidx, rid, cost, via FROM sc_batch
      UNION ALL SELECT sidx, rid, cost, via FROM sc_sub
      UNION ALL SELECT sidx, rid, cost, via FROM sc_cheap
      UNION ALL SELECT sidx, rid, cost, via FROM sc_plan
      UNION ALL SELECT sidx, rid, cost, via FROM sc_switch
      UNION ALL SELECT sidx, rid, cost, via FROM sc_cheap_provider) o
JOIN priced p USING (rid);

CREATE OR REPLACE TEMP TABLE sav AS
WITH base AS (
    SELECT day, coalesce(mid, '(unknown)') AS model, count(*) AS records, sum(actual) AS actual
    FROM priced GROUP BY ALL
), over_g AS (
    SELECT sidx, day, model, via, count(*) AS records, sum(actual) AS actual, sum(cost) AS cost,
        bool_or(cost IS NULL) AS inexact
    FROM sc_over GROUP BY ALL
), over_dm AS (
    SELECT sidx, day, model, count(*) AS records, sum(actual) AS actual FROM sc_over GROUP BY ALL
), rest AS (
    SELECT s.sidx, b.day, b.model, '' AS via,
        b.records - coalesce(o.records, 0) AS records,
        b.actual - coalesce(o.actual, 0) AS actual,
        b.actual - coalesce(o.actual, 0) AS cost,
        false AS inexact
    FROM scen s CROSS JOIN base b
    LEFT JOIN over_dm o ON o.sidx = s.sidx AND o.day = b.day AND o.model = b.model
)
SELECT g.sidx, s.name AS scenario, g.day, g.model, g.via, sum(g.records) AS records,
    sum(g.actual) AS actual, sum(g.cost) AS cost, bool_or(g.inexact) AS inexact
FROM (SELECT * FROM rest WHERE records > 0 UNION ALL BY NAME SELECT * FROM over_g) g
JOIN scen s USING (sidx)
GROUP BY g.sidx, s.name, g.day, g.model, g.via;

CREATE OR REPLACE TEMP TABLE totals AS
SELECT sidx, scenario, sum(cost) AS variable, bool_or(inexact) AS inexact
FROM sav GROUP BY ALL;

-- Plan fees: fee x days / days-in-month for each month of the period (first to last record day).
CREATE OR REPLACE TEMP TABLE period_day AS
SELECT CAST(d AS DATE) AS day
FROM range((SELECT min(day) FROM priced), (SELECT max(day) FROM priced) + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d);

CREATE OR REPLACE TEMP TABLE fee_day AS
SELECT s.sidx, s.name AS scenario, pd.day, '(' || pl.pid || ')' AS model, 'plan fee' AS via,
    pl.fee * sn.n AS fee_num, day(last_day(pd.day)) AS fee_den
FROM scen s JOIN plan pl ON pl.pid = s.pid JOIN seat_n sn ON sn.sidx = s.sidx CROSS JOIN period_day pd
WHERE s.action = 'subscription';
