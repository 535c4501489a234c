"""The wording of the synthetic feedback: issues per platform, praise, neutral questions, styles.

Data only (:mod:`reasonlake.synthetic` generates messages from it). Words differ per issue so topics
are separable, as in life.
"""

from __future__ import annotations

SOURCES = ("crm", "support_portal", "review_portal")

# issue -> (core phrasings, details). Words differ per issue so topics are separable, as in life.
ISSUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "card_declined": (
        (
            "my card was declined at checkout",
            "the payment with my credit card keeps getting declined",
            "card payment rejected again",
            "my debit card is declined every time I pay",
            "the card transaction failed and was declined",
        ),
        (
            "The bank says the card is fine.",
            "I tried three different cards.",
            "It happened in the store and online.",
            "This is embarrassing at the till.",
        ),
    ),
    "refund_delay": (
        (
            "I am still waiting for my refund",
            "the refund has not arrived after two weeks",
            "where is my refund, it is long overdue",
            "my money back still hasn't been refunded",
            "the refund you promised never came",
        ),
        (
            "I returned the item weeks ago.",
            "You confirmed the return was received.",
            "Nobody can tell me when the refund will be paid.",
            "It has been over 14 days.",
        ),
    ),
    "login_problem": (
        (
            "I can't log in to my account",
            "the password reset link does not work",
            "locked out of my account after the login fails",
            "login keeps failing with my correct password",
            "two factor code never arrives so I cannot sign in",
        ),
        (
            "I reset my password twice.",
            "It says invalid credentials.",
            "The verification email never comes.",
            "I have been locked out since Monday.",
        ),
    ),
    "late_delivery": (
        (
            "my order arrived a week late",
            "the package still has not been delivered",
            "delivery is late again",
            "the parcel is stuck in transit and the delivery date keeps moving",
            "courier missed the delivery window",
        ),
        (
            "Tracking has not updated for days.",
            "I paid for express shipping.",
            "The courier never showed up.",
            "I needed it for a birthday.",
        ),
    ),
    "hidden_fees": (
        (
            "I was charged an unexpected fee",
            "there are hidden charges on my bill",
            "a surprise service fee appeared on my invoice",
            "you added extra fees nobody told me about",
            "my bill has an unexplained charge",
        ),
        (
            "The price on the website was lower.",
            "Nothing in the contract mentions it.",
            "I want the fee removed.",
            "It is the third month in a row.",
        ),
    ),
    "app_crash": (
        (
            "the app crashes as soon as I open it",
            "the mobile app keeps crashing after the update",
            "app freezes and crashes on the payment screen",
            "your app crashed and closed again",
            "the new app version crashes on startup",
        ),
        (
            "I reinstalled it twice.",
            "My phone is up to date.",
            "It worked fine before the latest update.",
            "I cannot use any feature.",
        ),
    ),
    "rude_support": (
        (
            "the support agent was rude to me",
            "your customer service staff was rude and dismissive",
            "the agent on the phone was unhelpful and rude",
            "support hung up on me rudely",
            "I was treated rudely by the support team",
        ),
        (
            "He would not let me finish a sentence.",
            "She laughed at my question.",
            "I asked for a manager and was refused.",
            "Worst service experience ever.",
        ),
    ),
    "subscription_cancel": (
        (
            "I cannot cancel my subscription",
            "the cancel subscription button does not work",
            "you keep charging me after I cancelled my subscription",
            "cancellation of my plan keeps failing",
            "there is no way to cancel the membership online",
        ),
        (
            "I have tried for a month.",
            "I was charged again this month.",
            "The page just reloads.",
            "Please stop the renewal.",
        ),
    ),
}
# Issues that do not exist until ``SyntheticSpec.new_issue_week_index`` (a new problem appears).
EMERGING_ISSUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "international_transfer": (
        (
            "my international transfer to another country never arrived",
            "the overseas wire transfer is stuck",
            "money I sent abroad has not reached the recipient",
            "the foreign transfer failed and the money is gone",
            "my SWIFT transfer to Europe is missing",
        ),
        (
            "The recipient's bank has nothing.",
            "I sent it with the correct IBAN.",
            "The exchange rate was applied twice.",
            "It was for my family's rent.",
        ),
    ),
}
ALL_ISSUES = {**ISSUES, **EMERGING_ISSUES}
BASE_WEIGHTS = {
    "card_declined": 0.16,
    "refund_delay": 0.14,
    "login_problem": 0.12,
    "late_delivery": 0.10,
    "hidden_fees": 0.08,
    "app_crash": 0.05,
    "rude_support": 0.05,
    "subscription_cancel": 0.05,
}
PRAISE = (
    "great service, thank you so much",
    "love the new design, it is fantastic",
    "the support team was wonderful and quick",
    "excellent experience, very happy",
    "delivery was fast and everything was perfect",
    "amazing app, works great",
)
NEUTRAL = (
    "how do I change my delivery address",
    "what are your opening hours on Sunday",
    "can I update my email address",
    "is there a student discount available",
    "do you ship to Canada",
    "where can I find my invoice number",
)
PRAISE_WEIGHT, NEUTRAL_WEIGHT = 0.15, 0.10

STYLE = {
    "crm": (
        "Customer called: {core}. {detail} {affect}",
        "Agent note - customer says {core}. {detail} {affect}",
        "Call summary: {core}. {detail} {affect}",
    ),
    "support_portal": (
        "Hi, {core}. {detail} {affect} Please help.",
        "Hello support, {core}. {detail} {affect}",
        "{core}. {detail} {affect}",
    ),
    "review_portal": (
        "{core}! {detail} {affect}",
        "One star: {core}. {detail} {affect}",
        "Very disappointed, {core}. {detail} {affect}",
    ),
}
# Most complaints carry some affect; some are flatly factual (a rating or nothing tells then).
AFFECT = (
    "This is really frustrating.",
    "Unacceptable.",
    "Customer upset.",
    "I am very annoyed.",
    "Terrible service.",
    "So disappointing.",
    "Awful experience.",
    "I am angry about this.",
    "",
    "",
)
POSITIVE_STYLE = {"crm": "Customer called to say {core}.", "support_portal": "Hi, {core}!", "review_portal": "{core}!"}
NEUTRAL_STYLE = {
    "crm": "Customer asked {core}.",
    "support_portal": "Hello, {core}?",
    "review_portal": "Question: {core}?",
}
SEGMENTS = ("consumer", "smb", "enterprise")
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "NL")
