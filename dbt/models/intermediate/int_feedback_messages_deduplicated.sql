-- One row per (source, message_id): empty texts (after normalization) are dropped first, then the
-- first ingested copy of each message is kept (earliest ingested_at, then lowest Kafka offset).

with

messages as (

    select * from {{ ref('stg_raw__feedback_messages') }}

),

non_empty as (

    select * from messages
    where text_normalized <> ''

),

ranked as (

    select
        *,
        row_number() over (
            partition by source, message_id
            order by ingested_at, kafka_offset, kafka_partition, kafka_topic
        ) as ingestion_rank,
        count(*) over (partition by source, message_id) as copies_ingested

    from non_empty

),

deduplicated as (

    select * exclude (ingestion_rank)
    from ranked
    where ingestion_rank = 1

)

select * from deduplicated
