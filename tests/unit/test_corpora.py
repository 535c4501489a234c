"""Reading the airline tweets corpus (its rows here are written for the test: the real file is not shipped)."""

from dagster_project.cleaning.resources import cleaned_texts
from reasons.corpora import AIRLINE_NOT_NEGATIVE, airline_frame
from reasons.text import brand_terms

HEADER = "tweet_id,airline_sentiment,negativereason,airline,text,tweet_created\n"


def test_airline_tweets_become_weeks_of_labelled_messages_in_time_order(tmp_path):
    path = tmp_path / "Tweets.csv"
    path.write_text(
        HEADER
        + '3,negative,Late Flight,United,"@united 3 hours late, again",2015-02-23 08:00:00 -0800\n'
        + "1,negative,,Delta,@JetBlue @Delta worst airline,2/22/2015 23:10\n"
        + "2,positive,,Virgin America,I love flying @VirginAmerica #fabulous,2/16/2015 9:15\n"
        + "4,neutral,,US Airways,@USAirways what time is boarding?,2/24/2015 11:35\n"
    )
    frame = airline_frame(path)
    assert frame["tweet_id"].tolist() == ["2", "1", "3", "4"]  # by time, whichever form the timestamp has
    assert frame["week"].tolist() == ["2015-W08", "2015-W08", "2015-W09", "2015-W09"]
    # a negative tweet without a reason is one the crowd could not tell; the others carry none
    assert frame["label"].tolist() == [AIRLINE_NOT_NEGATIVE, "Can't Tell", "Late Flight", AIRLINE_NOT_NEGATIVE]
    assert frame["dissatisfied"].tolist() == [False, True, True, False]
    # brands (the airline, its handles) are what keywords and labels leave out
    mentions = cleaned_texts(frame["text"].tolist())["mentions"]
    assert mentions.tolist() == [["VirginAmerica"], ["JetBlue", "Delta"], ["united"], ["USAirways"]]
    stop = brand_terms(mentions=mentions, names=frame["company"])
    assert {"virginamerica", "jetblue", "united", "delta", "airways", "virgin"} <= set(stop)
    assert "fabulous" not in stop and "late" not in stop


PRODUCT_HEADER = "message_id,created_at,date_uncertain,source,title,text,complaint,reason\n"


def test_product_reviews_become_periods_of_labelled_messages_split_in_time(tmp_path):
    from reasons.corpora import PRODUCT_NOT_COMPLAINT, product_frame, product_part

    path = tmp_path / "complaints.csv"
    path.write_text(
        PRODUCT_HEADER
        + "r-3,2020-12-01T12:00:00+05:30,true,amazon.in/books,Torn,The cover came torn,true,packaging; service\n"
        + "r-1,2020-10-05T12:00:00+05:30,false,amazon.in/books,,Lovely book,false,\n"
        + "r-2,2020-10-07T12:00:00+05:30,false,amazon.in/fashion,Meh,Faded colour,true,\n"
        + "r-4,,true,amazon.in/misc,x,undated,false,\n"
        + "r-5,2020-11-02T12:00:00+05:30,false,amazon.in/fashion,Tight,Too small,true,fit\n"
    )
    frame = product_frame(path)
    # undated rows and complaints that name no aspect are left out; the rest by time
    assert frame["message_id"].tolist() == ["r-1", "r-5", "r-3"]
    assert frame["text"].tolist() == ["Lovely book", "Tight\nToo small", "Torn\nThe cover came torn"]
    assert frame["label"].tolist() == [PRODUCT_NOT_COMPLAINT, "fit", "packaging; service"]
    assert frame["dissatisfied"].tolist() == [False, True, True]
    # periods of four ISO weeks from 2020-W01; held out from 2020-11-30 on
    assert frame["week"].tolist() == ["2020-W41", "2020-W45", "2020-W49"]
    assert frame["held_out"].tolist() == [False, False, True]
    assert product_part(frame, held_out=True).empty  # one review: under the period minimum
