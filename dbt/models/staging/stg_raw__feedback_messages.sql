-- Incremental by ISO week: a weekly run (var reasonlake_week, set by the Dagster asset with a matching
-- scan filter on the source) replaces that week's rows only; without the var, every week present in the
-- source is rebuilt; `--full-refresh` rebuilds the table from scratch.
{{ config(materialized='incremental', unique_key='week', incremental_strategy='delete+insert') }}

with

source as (

    -- personal data (e-mail, phone, card, IBAN, IP) replaced by <EMAIL>, <PHONE>, … before anything
    -- else reads the text: raw.feedback alone keeps the original (reasonlake/dbt_plugin.py)
    select * replace (redact_pii(text) as text) from {{ source('raw', 'feedback') }}

),

renamed as (

    select
        -- ids
        message_id,
        source,

        -- text: as sent (personal data redacted), and a normalized copy (every run of whitespace, Unicode spaces
        -- included, collapsed to one space, then trimmed)
        text,
        trim(regexp_replace(text, '[\s\p{Z}]+', ' ', 'g')) as text_normalized,

        -- the modelling text, what topic keywords and labels are computed from (embeddings read the
        -- original): an e-mail signature ("-- " line) or mail-app footer and everything after it cut,
        -- URLs, e-mail addresses, personal-data placeholders, @mentions and emoji removed, hashtags kept as words, whitespace collapsed
        trim(regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                regexp_replace(
                                    text, '(?is)(\n--[ \t]*\n|\n\s*sent from my |\n\s*get outlook for ).*$', ''
                                ),
                                '(?i)(https?://|www\.)\S+', ' ', 'g'
                            ),
                            '[\w.+-]+@[\w-]+(\.[\w-]+)+|<(EMAIL|PHONE|CARD|IBAN|IP)>', ' ', 'g'
                        ),
                        '(^|[^\w])@\w+', '\1 ', 'g'
                    ),
                    '#(\w+)', '\1', 'g'
                ),
                '[\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}\x{FE0F}\x{200D}\x{20E3}]', ' ', 'g'
            ),
            '[\s\p{Z}]+', ' ', 'g'
        )) as text_modelling,
        -- the accounts the message @mentions (brand handles: kept out of keywords and labels)
        regexp_extract_all(text, '(?:^|[^\w])@(\w+)', 1) as mentions,

        -- customer
        user_id,
        user_segment,
        user_country,
        tags,
        rating::integer as rating,
        attributes,

        -- timestamps (UTC) and the ISO week of created_at
        created_at,
        strftime(created_at at time zone 'UTC', '%G-W%V') as week,
        ingested_at,

        -- kafka provenance
        kafka_topic,
        kafka_partition,
        kafka_offset,
        kafka_timestamp

    from source

)

select * from renamed
{% if is_incremental() and var('reasonlake_week', none) %}
where week = '{{ var("reasonlake_week") }}'
{% endif %}
