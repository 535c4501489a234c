with

rejections as (

    select * from {{ ref('stg_raw__feedback_rejections') }}

),

daily as (

    select
        rejected_on,
        coalesce(source, 'unknown') as source,
        reason,
        count(*) as rejection_count,
        count(distinct message_id) as distinct_message_ids,
        min(rejected_at) as first_rejected_at,
        max(rejected_at) as last_rejected_at

    from rejections
    group by 1, 2, 3

)

select * from daily
