{#-
    What topic keywords and labels read of a message, written once: the staging model calls these, and
    bench/quality.py renders the same file (dagster_project.cleaning.resources.cleaned_texts) to clean a
    corpus read outside the lake. Plain SQL for DuckDB: no dbt function inside, so Jinja alone renders them.
-#}

{#- The modelling text: an e-mail signature ("-- " line) or mail-app footer and everything after it cut;
    URLs, e-mail addresses, personal-data placeholders, @mentions and emoji removed; hashtags kept as
    words; every run of whitespace collapsed. -#}
{% macro modelling_text(column) -%}
    trim(regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                {{ column }}, '(?is)(\n--[ \t]*\n|\n\s*sent from my |\n\s*get outlook for ).*$', ''
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
    ))
{%- endmacro %}

{#- The accounts a message @mentions, without the "@" (a list; brand handles, kept out of keywords and
    labels). -#}
{% macro mentions(column) -%}
    regexp_extract_all({{ column }}, '(?:^|[^\w])@(\w+)', 1)
{%- endmacro %}
