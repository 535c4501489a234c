"""Brand words kept out of topic keywords: from @mentions and configured or company names (pure)."""

from reasons.text import brand_terms, handle_words


def test_a_handle_gives_its_words():
    assert handle_words("@AmericanAir") == {"americanair", "american", "air"}
    assert handle_words("united_help") == {"united_help", "united"}  # "help" names no brand
    assert handle_words("SW_Air2024") == {"sw_air2024", "sw", "air2024", "air"}


def test_brand_terms_of_a_week():
    terms = brand_terms([["AcmeBank"], None, ["AcmeBank", "AcmeCares"]], names=["Experian Information Solutions Inc."])
    assert terms == ("acme", "acmebank", "acmecares", "cares", "experian")  # sorted, each once
    assert "information" not in terms and "bank" not in terms  # generic words stay keywords
    assert brand_terms() == ()
