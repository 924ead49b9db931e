"""The paper's class correspondences (Tables I-III) and the UCF101 / HMDB51 class lists.

Each pair maps an image class (a folder, or Stanford40's file-name prefix) to
a video class (UCF101's ``classInd.txt`` name or HMDB51's folder name). The
phrase of a class, whose word vectors give its semantic vector (§IV.B), is the
video-side name as printed in the paper's tables (e.g. "walking with dog").

B→U uses all 101 UCF101 classes; BU101 names its folders exactly as UCF101's
classes (one-to-one, §IV.A.4), so its table is the identity on
``UCF101_CLASSES``.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ClassPair:
    """One common class of an image→video pair."""

    image_class: str   # image folder / Stanford40 file prefix
    video_class: str   # UCF101 classInd name or HMDB51 folder name
    phrase: str        # the class name as printed in the paper's table


# UCF101's classInd.txt, in its order (1-101).
UCF101_CLASSES = (
    "ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "BalanceBeam",
    "BandMarching", "BaseballPitch", "Basketball", "BasketballDunk", "BenchPress",
    "Biking", "Billiards", "BlowDryHair", "BlowingCandles", "BodyWeightSquats",
    "Bowling", "BoxingPunchingBag", "BoxingSpeedBag", "BreastStroke",
    "BrushingTeeth", "CleanAndJerk", "CliffDiving", "CricketBowling",
    "CricketShot", "CuttingInKitchen", "Diving", "Drumming", "Fencing",
    "FieldHockeyPenalty", "FloorGymnastics", "FrisbeeCatch", "FrontCrawl",
    "GolfSwing", "Haircut", "Hammering", "HammerThrow", "HandstandPushups",
    "HandstandWalking", "HeadMassage", "HighJump", "HorseRace", "HorseRiding",
    "HulaHoop", "IceDancing", "JavelinThrow", "JugglingBalls", "JumpingJack",
    "JumpRope", "Kayaking", "Knitting", "LongJump", "Lunges", "MilitaryParade",
    "Mixing", "MoppingFloor", "Nunchucks", "ParallelBars", "PizzaTossing",
    "PlayingCello", "PlayingDaf", "PlayingDhol", "PlayingFlute", "PlayingGuitar",
    "PlayingPiano", "PlayingSitar", "PlayingTabla", "PlayingViolin", "PoleVault",
    "PommelHorse", "PullUps", "Punch", "PushUps", "Rafting", "RockClimbingIndoor",
    "RopeClimbing", "Rowing", "SalsaSpin", "ShavingBeard", "Shotput",
    "SkateBoarding", "Skiing", "Skijet", "SkyDiving", "SoccerJuggling",
    "SoccerPenalty", "StillRings", "SumoWrestling", "Surfing", "Swing",
    "TableTennisShot", "TaiChi", "TennisSwing", "ThrowDiscus",
    "TrampolineJumping", "Typing", "UnevenBars", "VolleyballSpiking",
    "WalkingWithDog", "WallPushups", "WritingOnBoard", "YoYo",
)

# HMDB51's class folders.
HMDB51_CLASSES = (
    "brush_hair", "cartwheel", "catch", "chew", "clap", "climb", "climb_stairs",
    "dive", "draw_sword", "dribble", "drink", "eat", "fall_floor", "fencing",
    "flic_flac", "golf", "handstand", "hit", "hug", "jump", "kick", "kick_ball",
    "kiss", "laugh", "pick", "pour", "pullup", "punch", "push", "pushup",
    "ride_bike", "ride_horse", "run", "shake_hands", "shoot_ball", "shoot_bow",
    "shoot_gun", "sit", "situp", "smile", "smoke", "somersault", "stand",
    "swing_baseball", "sword", "sword_exercise", "talk", "throw", "turn", "walk",
    "wave",
)

# Table I: Stanford40 → UCF101. Stanford40 names its files
# <class>_<nnn>.jpg; the paper's table abbreviates some of its class names
# ("walking with dog", "clearing the floor"): the prefixes are Stanford40's own.
S2U = (
    ClassPair("shooting_an_arrow", "Archery", "archery"),
    ClassPair("brushing_teeth", "BrushingTeeth", "brushing teeth"),
    ClassPair("cutting_vegetables", "CuttingInKitchen", "cutting in kitchen"),
    ClassPair("throwing_frisby", "FrisbeeCatch", "frisbee catch"),
    ClassPair("rowing_a_boat", "Rowing", "rowing"),
    ClassPair("walking_the_dog", "WalkingWithDog", "walking with dog"),
    ClassPair("writing_on_a_board", "WritingOnBoard", "writing on board"),
    ClassPair("cleaning_the_floor", "MoppingFloor", "mopping floor"),
    ClassPair("climbing", "RockClimbingIndoor", "rock climbing indoor"),
    ClassPair("playing_guitar", "PlayingGuitar", "playing guitar"),
)

# Table II: ASD (Action DB, PPMI, Willow Actions, Still DB) → UCF101. ASD
# images come as one folder per source class, named as below.
A2U = (
    ClassPair("riding_bike", "Biking", "biking"),
    ClassPair("cricket_bowling", "CricketBowling", "cricket bowling"),
    ClassPair("cricket_batting", "CricketShot", "cricket shot"),
    ClassPair("riding_horse", "HorseRiding", "horse riding"),
    ClassPair("playing_cello", "PlayingCello", "playing cello"),
    ClassPair("playing_flute", "PlayingFlute", "playing flute"),
    ClassPair("playing_violin", "PlayingViolin", "playing violin"),
    ClassPair("tennis_forehand", "TennisSwing", "tennis swing"),
    ClassPair("volleyball_smash", "VolleyballSpiking", "volleyball spiking"),
    ClassPair("throwing", "BaseballPitch", "baseball pitch"),
)

# Table III: EAD (Stanford40, HII) → HMDB51, one image folder per source class.
E2H = (
    ClassPair("applauding", "clap", "clap"),
    ClassPair("climbing", "climb", "climb"),
    ClassPair("drinking", "drink", "drink"),
    ClassPair("hug", "hug", "hug"),
    ClassPair("jumping", "jump", "jump"),
    ClassPair("kiss", "kiss", "kiss"),
    ClassPair("pouring_liquid", "pour", "pour"),
    ClassPair("pushing_a_cart", "push", "push"),
    ClassPair("riding_a_bike", "ride_bike", "ride bike"),
    ClassPair("riding_a_horse", "ride_horse", "ride horse"),
    ClassPair("running", "run", "run"),
    ClassPair("shake_hands", "shake_hands", "shake hands"),
    ClassPair("shooting_an_arrow", "shoot_bow", "shoot bow"),
    ClassPair("smoking", "smoke", "smoke"),
    ClassPair("waving_hands", "wave", "wave"),
)

# The E→H image classes that come from HII (Table III); the others are
# Stanford40 actions.
E2H_FROM_HII = frozenset({"hug", "kiss", "shake_hands"})
