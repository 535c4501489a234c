"""The modelling text, as the staging model's macros (dbt/macros/text_cleaning.sql) make it, run outside dbt
(``cleaned_texts``: Jinja and in-memory DuckDB). That dbt's model gives the same is tested in
tests/integration/test_dbt_build.py."""

from dagster_project.cleaning.resources import cleaned_texts
from reasons.text import keyword_texts


def test_channel_noise_leaves_the_modelling_text_and_handles_are_listed():
    texts = [
        "@united 3 hours on the tarmac https://t.co/AbC123 #neveragain 😡😡",
        "Card declined twice www.example.com/help ✈️ <PHONE>",
        "mail me at jane.doe@example.com\n-- \nJane Doe\nAcme",
        "Refund?\n\nSent from my iPhone",
        "email@united.com is not a handle, but (@AmericanAir) is",
    ]
    clean = cleaned_texts(texts)
    assert clean["text_modelling"].tolist() == [
        "3 hours on the tarmac neveragain",
        "Card declined twice",
        "mail me at",
        "Refund?",
        "is not a handle, but ( ) is",
    ]
    assert clean["mentions"].tolist() == [["united"], [], [], [], ["AmericanAir"]]


def test_rows_keep_their_order_and_keywords_read_the_cleaned_text():
    texts = [f"@brand{i} message number {i} http://x.io/{i}" for i in range(500)]
    clean = cleaned_texts(texts)
    assert clean["text_modelling"].tolist() == [f"message number {i}" for i in range(500)]
    assert clean["mentions"].tolist() == [[f"brand{i}"] for i in range(500)]
    assert keyword_texts(clean.assign(text=texts)) == clean["text_modelling"].tolist()
    assert keyword_texts(clean.drop(columns="text_modelling").assign(text=texts)) == texts
