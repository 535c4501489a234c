with

source as (

    -- a rejected record's bytes may hold personal data and cannot be redacted reliably (any bytes):
    -- only their size leaves raw (raw.feedback_rejected keeps them for audits)
    select * exclude (raw_value), octet_length(raw_value) as raw_value_bytes
    from {{ source('raw', 'feedback_rejected') }}

),

renamed as (

    select
        -- ids (best effort: a rejected record may not be readable)
        message_id,
        source,

        -- why
        reason,
        detail,
        raw_value_bytes,

        -- timestamps (UTC)
        rejected_at,
        cast(rejected_at at time zone 'UTC' as date) as rejected_on,

        -- kafka provenance
        kafka_topic,
        kafka_partition,
        kafka_offset,
        kafka_timestamp

    from source

)

select * from renamed
