{#- Non-null values of the column that do not fully match the regular expression (RE2). -#}
{% test matches_pattern(model, column_name, pattern) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not regexp_full_match({{ column_name }}, '{{ pattern }}')

{% endtest %}
