with

messages as (

    select * from {{ ref('int_feedback_messages_deduplicated') }}

),

final as (

    select
        message_id,
        source,
        text,
        text_normalized,
        text_modelling,
        mentions,
        created_at,
        week,
        rating,
        user_id,
        user_segment,
        user_country,
        tags,
        attributes,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        kafka_timestamp,
        ingested_at,
        copies_ingested

    from messages

)

select * from final
