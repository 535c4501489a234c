with

source as (

    select * from {{ source('raw', 'feedback') }}

),

renamed as (

    select
        -- ids
        message_id,
        source,

        -- text: the original, and a normalized copy (every run of whitespace, Unicode spaces
        -- included, collapsed to one space, then trimmed)
        text,
        trim(regexp_replace(text, '[\s\p{Z}]+', ' ', 'g')) as text_normalized,

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
