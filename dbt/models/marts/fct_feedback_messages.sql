-- Incremental by ISO week, like its staging model: a weekly run replaces its week's rows (messages
-- whose first ingested copy lies in that week), a run without the var rebuilds every week.
{{ config(materialized='incremental', unique_key='week', incremental_strategy='delete+insert') }}

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
{% if is_incremental() and var('reasonlake_week', none) %}
where week = '{{ var("reasonlake_week") }}'
{% endif %}
