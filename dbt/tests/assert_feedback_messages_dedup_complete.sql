-- Deduplication is complete and keeps the right copy: every (source, message_id) with a non-empty
-- normalized text in staging appears exactly once in fct_feedback_messages, as its first ingested
-- copy, and the mart holds no other message. Returns the offending keys. Reads two models; Dagster shows it
-- as an asset check of the mart (the meta below), not as a bare observation.

{{ config(meta={'dagster': {'ref': {'name': 'fct_feedback_messages'}}}) }}

with

staged as (

    select
        source,
        message_id,
        min(ingested_at) as first_ingested_at

    from {{ ref('stg_raw__feedback_messages') }}
    where text_normalized <> ''
    group by 1, 2

),

marted as (

    select
        source,
        message_id,
        count(*) as n_rows,
        min(ingested_at) as kept_ingested_at

    from {{ ref('fct_feedback_messages') }}
    group by 1, 2

),

compared as (

    select
        coalesce(staged.source, marted.source) as source,
        coalesce(staged.message_id, marted.message_id) as message_id,
        staged.first_ingested_at,
        marted.n_rows,
        marted.kept_ingested_at,
        case
            when marted.message_id is null then 'missing from the mart'
            when staged.message_id is null then 'not in staging (or empty)'
            when marted.n_rows <> 1 then 'duplicated in the mart'
            when marted.kept_ingested_at <> staged.first_ingested_at then 'not the first ingested copy'
        end as problem

    from staged
    full outer join marted
        on staged.source = marted.source
        and staged.message_id = marted.message_id

)

select * from compared
where problem is not null
