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

        -- what topic keywords and labels are computed from (embeddings read the original): the text without
        -- signatures, URLs, e-mail addresses, personal-data placeholders, @mentions and emoji, hashtags kept
        -- as words; and the accounts it @mentions (brand handles). Both are macros (macros/text_cleaning.sql)
        {{ modelling_text('text') }} as text_modelling,
        {{ mentions('text') }} as mentions,

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
