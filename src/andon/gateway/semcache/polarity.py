"""Opposites for the answer cache's guard: words whose swap turns a request around or flips how it feels.

Hand-written for andon, Korean and English. Each word names an axis (taste, speed, buy/sell, on/off …), the
side it takes and its sentiment (+1, 0, -1). Korean words match a word's first syllables (맛있 matches
맛있어요, 맛있고), English words match whole. Two requests that take different sides of one axis, or whose
sentiments have opposite signs, never share an answer. Words outside the list are the judge's job.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Polar:
    """One word's place: an axis, the side it takes, and its sentiment (+1 praise, -1 complaint, 0 none)."""

    axis: str
    side: str
    valence: int

    def flipped(self) -> Polar:
        """The same word under a negation ("안 좋아요", "not fast"): the other side of a two-sided axis."""
        side = {"+": "-", "-": "+"}.get(self.side, self.side)
        return Polar(self.axis, side, -self.valence)


# (axis, side, sentiment, words). "+"/"-" are the two sides of a two-sided axis; other sides name a value.
_KOREAN = (
    ("taste", "+", 1, "맛있 맛나 맛났 꿀맛 존맛"),
    ("taste", "-", -1, "맛없 노맛"),
    ("manner", "+", 1, "친절 상냥 다정"),
    ("manner", "-", -1, "불친절 무례 무뚝뚝 퉁명 싸가지"),
    ("speed", "+", 1, "빠르 빨라 빨랐 빠른 빠릅 빨리 신속 금방"),
    ("speed", "-", -1, "느리 느려 느렸 느린 느립 늦 지연"),
    ("good", "+", 1, "좋 최고 훌륭 만족 추천 대박 굿 짱 감동 완벽 괜찮 마음에 맘에"),
    ("good", "-", -1, "나쁘 나빠 나쁜 나빴 싫 별로 최악 실망 불만 짜증 후회 엉망 형편없 비추 아쉽 아쉬 화나 화났 "
     "불쾌 불편 구려 구렸"),
    ("clean", "+", 1, "깨끗 청결 깔끔"),
    ("clean", "-", -1, "더럽 더러 지저분 불결"),
    ("fresh", "+", 1, "신선 싱싱"),
    ("fresh", "-", -1, "상했 상한 비린 썩"),
    ("heat", "+", 0, "따뜻 따듯 뜨거 뜨겁 뜨끈"),
    ("heat", "-", 0, "차가 차갑 차게 미지근 식었 식어 식은"),
    ("amount", "+", 0, "많 넉넉 푸짐 듬뿍 가득"),
    ("amount", "-", 0, "적어 적었 적은 적게 부족 모자라 모자랐 조금"),
    ("price", "+", 0, "싸요 싸고 싸서 싸게 싸다 싼 저렴"),
    ("price", "-", 0, "비싸 비싼 비쌌 비쌉"),
    ("trade", "+", 0, "팝니 팔아 팔았 팔고 팔게 팔려 팔리 팔까 팔면 판매 파나 파는 파요 매도"),
    ("trade", "-", 0, "삽니 사요 살게 샀 사려 살래 살까 사면 구매 구입 매수 매입"),
    ("commit", "+", 0, "가입 등록 주문 예약 신청 결제"),  # signing up or ordering, against undoing it
    ("commit", "-", 0, "탈퇴 해지 취소 철회"),
    ("power", "+", 0, "켜 켰"),
    ("power", "-", 0, "꺼 끄 껐"),
    ("door", "+", 0, "열어 열고 열기 열었 열려 열리 열린 열면 오픈 개점 개장"),
    ("door", "-", 0, "닫아 닫고 닫기 닫았 닫혀 닫히 닫힌 닫으 닫는 마감 폐점 폐장 휴무"),
    ("level", "+", 0, "올려 올리 올렸 올라 인상 상승 증가 늘려 늘리 늘었 늘어 확대 높여 높이 높은 높아 높게 크게"),
    ("level", "-", 0, "내려 내리 내렸 인하 하락 감소 줄여 줄이 줄었 줄어 축소 낮춰 낮추 낮은 낮아 낮게 작게"),
    ("edit", "+", 0, "추가 넣어 넣고 넣기 넣었 넣을 포함"),
    ("edit", "-", 0, "삭제 빼 뺐 제거 제외 지워 지우 지웠"),
    ("money", "+", 0, "입금 충전"),
    ("money", "-", 0, "출금 인출"),
    ("consent", "+", 0, "승인 수락 허용 허락 찬성 동의 승낙"),
    ("consent", "-", 0, "거절 거부 반대 차단 불허 비동의"),
    ("run", "+", 0, "시작 개시 재개"),
    ("run", "-", 0, "종료 중지 중단 정지 끝나 끝내 끝났 멈춰 멈추 멈췄"),
    ("login", "+", 0, "로그인"),
    ("login", "-", 0, "로그아웃"),
    ("result", "+", 0, "성공 합격 당첨 통과"),
    ("result", "-", 0, "실패 불합격 낙첨 탈락"),
    ("fee", "+", 0, "유료"),
    ("fee", "-", 0, "무료 공짜"),
    ("public", "+", 0, "공개"),
    ("public", "-", 0, "비공개"),
    ("possible", "+", 0, "가능"),
    ("possible", "-", 0, "불가"),
    ("send", "+", 0, "보내 보냈 보낸 보낼 송금 발송"),
    ("send", "-", 0, "받 수령 수신"),
    ("enter", "+", 0, "입장"),
    ("enter", "-", 0, "퇴장"),
    ("border", "+", 0, "입국"),
    ("border", "-", 0, "출국"),
    ("stock", "+", 0, "입고"),
    ("stock", "-", 0, "출고"),
    ("stay", "+", 0, "입실 체크인"),
    ("stay", "-", 0, "퇴실 체크아웃"),
    ("ride", "+", 0, "승차 탑승"),
    ("ride", "-", 0, "하차"),
    ("work", "+", 0, "출근 입사"),
    ("work", "-", 0, "퇴근 퇴사"),
    ("school", "+", 0, "입학"),
    ("school", "-", 0, "졸업"),
    ("win", "+", 0, "이겼 승리 우승"),
    ("win", "-", 0, "졌 패배 패했"),
    ("bound", "+", 0, "이상 초과 넘게"),
    ("bound", "-", 0, "이하 미만 이내"),
    ("extreme", "+", 0, "최대 최다 최장"),
    ("extreme", "-", 0, "최소 최저 최단"),
    ("side", "left", 0, "왼쪽 좌측 좌회전 왼편"),
    ("side", "right", 0, "오른쪽 우측 우회전 오른편"),
    ("height", "+", 0, "위쪽 위로 상단 윗"),
    ("height", "-", 0, "아래 아랫 하단 밑"),
    ("sex", "m", 0, "남자 남성"),
    ("sex", "f", 0, "여자 여성"),
    ("when", "before", 0, "전에 이전"),
    ("when", "after", 0, "후에 이후 나중에"),
    ("daypart", "am", 0, "오전 아침 새벽"),
    ("daypart", "pm", 0, "오후 저녁 밤"),
    ("day", "yesterday", 0, "어제 그제 그저께"),
    ("day", "today", 0, "오늘"),
    ("day", "tomorrow", 0, "내일"),
    ("day", "overmorrow", 0, "모레"),
)  # fmt: skip
_ENGLISH = (
    ("good", "+", 1, "good great excellent amazing awesome love loved loves lovely perfect best nice fantastic "
     "wonderful happy satisfied recommend recommended enjoy enjoyed pleased"),
    ("good", "-", -1, "bad terrible awful horrible hate hated hates worst poor disappointing disappointed "
     "disgusting gross unhappy dissatisfied annoying annoyed angry upset mediocre"),
    ("manner", "+", 1, "friendly polite helpful courteous"),
    ("manner", "-", -1, "rude unfriendly impolite unhelpful"),
    ("taste", "+", 1, "delicious tasty yummy flavorful"),
    ("taste", "-", -1, "tasteless bland inedible"),
    ("speed", "+", 1, "fast quick quickly promptly speedy"),
    ("speed", "-", -1, "slow slowly delayed sluggish"),
    ("clean", "+", 1, "clean tidy spotless"),
    ("clean", "-", -1, "dirty filthy messy"),
    ("fresh", "+", 1, "fresh"),
    ("fresh", "-", -1, "stale rotten spoiled"),
    ("heat", "+", 0, "hot warm"),
    ("heat", "-", 0, "cold chilly lukewarm"),
    ("amount", "+", 0, "generous large big huge plenty"),
    ("amount", "-", 0, "small tiny"),
    ("price", "+", 0, "cheap affordable inexpensive"),
    ("price", "-", 0, "expensive pricey overpriced costly"),
    ("trade", "+", 0, "sell selling sells sold"),
    ("trade", "-", 0, "buy buying buys bought purchase purchased purchasing"),
    ("power", "+", 0, "on"),
    ("power", "-", 0, "off"),
    ("door", "+", 0, "open opened opening opens"),
    ("door", "-", 0, "close closed closing closes shut"),
    ("level", "+", 0, "increase increased raise raised up upgrade higher boost"),
    ("level", "-", 0, "decrease decreased reduce reduced lower lowered down downgrade"),
    ("edit", "+", 0, "add added adding include included"),
    ("edit", "-", 0, "remove removed removing delete deleted deleting exclude excluded"),
    ("money", "+", 0, "deposit deposited"),
    ("money", "-", 0, "withdraw withdrew withdrawn withdrawal"),
    ("consent", "+", 0, "accept accepted approve approved allow allowed enable enabled agree agreed"),
    ("consent", "-", 0, "reject rejected decline declined deny denied block blocked disable disabled refuse refused"),
    ("run", "+", 0, "start started begin began resume"),
    ("run", "-", 0, "stop stopped end ended pause paused"),
    ("login", "+", 0, "login"),
    ("login", "-", 0, "logout"),
    ("inside", "+", 0, "in into inside"),
    ("inside", "-", 0, "out outside"),
    ("port", "+", 0, "import imported"),
    ("port", "-", 0, "export exported"),
    ("result", "+", 0, "success succeeded pass passed win won"),
    ("result", "-", 0, "fail failed failure lose lost"),
    ("when", "before", 0, "before earlier"),
    ("when", "after", 0, "after later"),
    ("timing", "+", 0, "early"),
    ("timing", "-", 0, "late"),
    ("day", "yesterday", 0, "yesterday"),
    ("day", "today", 0, "today"),
    ("day", "tomorrow", 0, "tomorrow"),
    ("daypart", "am", 0, "morning"),
    ("daypart", "pm", 0, "afternoon evening night"),
    ("extreme", "+", 0, "max maximum most"),
    ("extreme", "-", 0, "min minimum least"),
    ("compare", "+", 0, "more"),
    ("compare", "-", 0, "less fewer"),
    ("order", "first", 0, "first"),
    ("order", "last", 0, "last"),
    ("side", "left", 0, "left"),
    ("side", "right", 0, "right"),
    ("sex", "m", 0, "male men man"),
    ("sex", "f", 0, "female women woman"),
    ("fee", "+", 0, "paid"),
    ("fee", "-", 0, "free"),
    ("public", "+", 0, "public"),
    ("public", "-", 0, "private"),
    ("send", "+", 0, "send sent sending"),
    ("send", "-", 0, "receive received receiving"),
    ("arrive", "+", 0, "arrive arrived arrival"),
    ("arrive", "-", 0, "depart departed departure"),
    ("load", "+", 0, "upload uploaded"),
    ("load", "-", 0, "download downloaded"),
)  # fmt: skip


def _table(rows: tuple[tuple[str, str, int, str], ...]) -> dict[str, Polar]:
    table: dict[str, Polar] = {}
    for axis, side, valence, words in rows:
        for word in words.split():
            if word in table:  # pragma: no cover - a typo in the table above
                raise ValueError(f"{word!r} is listed twice")
            table[word] = Polar(axis, side, valence)
    return table


KOREAN = _table(_KOREAN)
ENGLISH = _table(_ENGLISH)
_LONGEST = max(len(word) for word in KOREAN)

# Prefixes that turn a word into its opposite (불친절, 비공개, 미완료, 무제한, 부정확; unhappy, disable …).
KOREAN_NEGATING = ("불", "비", "미", "무", "부")
ENGLISH_NEGATING = ("un", "dis", "non", "in", "im", "il", "ir")


def polar(run: str) -> Polar | None:
    """The place of one word (a Hangul or Latin run, lower case), or None when it is not on any axis."""
    if not run:
        return None
    if not "\uac00" <= run[0] <= "\ud7a3":
        return ENGLISH.get(run)
    for size in range(min(_LONGEST, len(run)), 0, -1):  # the longest listed start wins: 불친절 before 불
        found = KOREAN.get(run[:size])
        if found is not None:
            return found
    return None


def head(run: str) -> str:
    """What :func:`negated_head` is matched against: a Korean word's first two syllables, an English word."""
    return run[:2] if "\uac00" <= run[0] <= "\ud7a3" else run


def negated_head(run: str) -> str | None:
    """The word a negating prefix was put before (불친절해요 → 친절, unsubscribe → subscribe), or None."""
    if "\uac00" <= run[0] <= "\ud7a3":
        return run[1:3] if len(run) >= 3 and run[0] in KOREAN_NEGATING else None
    for prefix in ENGLISH_NEGATING:
        if run.startswith(prefix) and len(run) - len(prefix) >= 3:
            return run[len(prefix) :]
    return None
