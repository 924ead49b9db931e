"""The paper's Tables I-III and the UCF101/HMDB51 class lists, as built in."""
import pytest

from tfds_builders.divafn import class_tables as t

# Stanford40's 40 classes (its ImageSplits/actions.txt), an independent list.
STANFORD40 = set("""applauding blowing_bubbles brushing_teeth cleaning_the_floor climbing
cooking cutting_trees cutting_vegetables drinking feeding_a_horse fishing fixing_a_bike
fixing_a_car gardening holding_an_umbrella jumping looking_through_a_microscope
looking_through_a_telescope playing_guitar playing_violin pouring_liquid pushing_a_cart
reading phoning riding_a_bike riding_a_horse rowing_a_boat running shooting_an_arrow
smoking taking_photos texting_message throwing_frisby using_a_computer walking_the_dog
washing_dishes watching_TV waving_hands writing_on_a_board writing_on_a_book""".split())


def test_official_class_lists_have_their_sizes_and_no_duplicates():
    assert len(t.UCF101_CLASSES) == len(set(t.UCF101_CLASSES)) == 101
    assert len(t.HMDB51_CLASSES) == len(set(t.HMDB51_CLASSES)) == 51
    assert len(STANFORD40) == 40
    # classInd.txt order: 1 ApplyEyeMakeup ... 37 HandstandPushups ... 101 YoYo.
    assert t.UCF101_CLASSES[0] == "ApplyEyeMakeup"
    assert t.UCF101_CLASSES[36] == "HandstandPushups"
    assert t.UCF101_CLASSES[-1] == "YoYo"


@pytest.mark.parametrize("table, size, videos", [
    (t.S2U, 10, t.UCF101_CLASSES), (t.A2U, 10, t.UCF101_CLASSES),
    (t.E2H, 15, t.HMDB51_CLASSES)])
def test_tables_match_the_paper_sizes_and_official_names(table, size, videos):
    assert len(table) == size
    assert len({p.image_class for p in table}) == size
    assert len({p.video_class for p in table}) == size
    assert {p.video_class for p in table} <= set(videos)
    for pair in table:
        assert pair.phrase == pair.phrase.lower().strip()


def test_stanford40_sides_are_stanford40_classes():
    assert {p.image_class for p in t.S2U} <= STANFORD40
    hii = {"hug", "kiss", "shake_hands"}
    assert {p.image_class for p in t.E2H} - hii <= STANFORD40


def test_paper_examples():
    s2u = {p.video_class: p for p in t.S2U}
    assert s2u["WalkingWithDog"].phrase == "walking with dog"
    assert s2u["MoppingFloor"].image_class == "cleaning_the_floor"
    a2u = {p.video_class: p for p in t.A2U}
    assert a2u["BaseballPitch"].image_class == "throwing"
