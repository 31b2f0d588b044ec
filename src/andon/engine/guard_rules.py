"""The guard's built-in rules: crisis (self-harm, suicide) and prompt-injection language, Korean and English.

Written for andon (issue 15), measured by ``bench/guard.py`` on ``bench/guard_cases.py``. Korean rules match
a squashed copy of the text (no spaces: Korean spacing varies, "죽고 싶다" = "죽고싶다"); English rules match
a lower-cased copy with single spaces and common digit-for-letter swaps undone ("k1ll" → "kill").
``unless_before`` / ``unless_after`` are anchored at the match (``$`` / ``^``) and read a short window either
side of it: the hard negatives ("배고파 죽겠다", "kill myself laughing", "이전 지시를 무시해서 죄송합니다").
Every repeat is bounded, so a search is linear in the text. This file's bytes are part of a guarded version's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WINDOW = 24  # characters either side of a match read by unless_before / unless_after


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern of a check: its id (``crisis.ko.want_to_die``), the pattern, and the contexts that undo it."""

    id: str
    language: str  # ko | en: which copy of the text it reads
    pattern: re.Pattern[str]
    unless_before: re.Pattern[str] | None = None
    unless_after: re.Pattern[str] | None = None


def _rule(rule_id: str, pattern: str, before: str | None = None, after: str | None = None) -> Rule:
    language = rule_id.split(".")[1]
    return Rule(
        rule_id,
        language,
        re.compile(pattern),
        re.compile(before) if before else None,
        re.compile(after) if after else None,
    )


# --- crisis: a person who may hurt themselves -------------------------------------------------------------
# "죽겠다" on its own is an intensifier (배고파 죽겠다, 웃겨 죽겠다) and is never a rule; "죽고 싶다" is, unless it
# follows embarrassment (부끄러워 죽고 싶다). "살기 싫다" after a place is about the place (이 동네에서 살기 싫다).

_KO_HYPERBOLE = (
    r"(부끄러워|부끄럽|창피해|창피하|쪽팔려|쪽팔리|민망해|민망하|귀여워|맛있어|웃겨|좋아)(서)?(진짜|너무|정말)?$"
)

CRISIS: tuple[Rule, ...] = (
    _rule(
        "crisis.ko.want_to_die", r"죽고(만)?싶|죽고파|죽고시퍼|죽어버리고싶|죽어버릴래|죽어버릴거", before=_KO_HYPERBOLE
    ),
    _rule(
        "crisis.ko.suicide",
        r"자살(하고싶|하고파|할까|하려|할거|할래|할생각|하고말|해야겠|해버릴|하는방법|방법|충동|생각|시도|계획|할것같|하면|했으면)",
    ),
    _rule("crisis.ko.end_life", r"(목숨|삶|생|인생)(을|를)?(끊|끝내|마감|포기하고싶|정리하고싶)|스스로목숨"),
    _rule(
        "crisis.ko.not_live",
        r"살기싫|살고싶지않|살아야할이유|살이유가없|살아갈이유|사는게(의미없|무의미|너무힘들어서그만)|살아서뭐해|살아서뭐하|"
        r"살아있기싫|살아있고싶지않|사라지고싶|없어지고싶|태어나지말았|안태어났으면|세상에서사라지",
        before=r"(에서|에|동네|집|나라|도시|시골|서울|곳|데서|같이|랑|하고|이랑|혼자|여기|거기)$",
    ),
    _rule(
        "crisis.ko.better_dead",
        r"죽는게(낫|나을|편할|편하)|죽으면(편할|편해|끝날|다끝|좋겠|모든게)|차라리죽|죽을방법|죽는방법|고통없이죽|"
        r"편하게죽|안아프게죽|극단적(인)?선택(을)?(하고싶|할까|하려|하고말|할것|할생각|해버릴)",
    ),
    _rule(
        "crisis.ko.method",
        r"(옥상|다리|한강|창문|베란다|아파트|건물)(에서|위에서|으로|로)?(뛰어내리|뛰어내릴|투신)|뛰어내리고싶|투신하고싶|"
        r"목(을)?매(달|고싶|려고|면)|번개탄(피우|을사|사러|사서|으로)|수면제(를|을)?(다|왕창|한꺼번에|모아|많이|한통|전부|몽땅)|"
        r"약(을)?(모아서|모으고|한꺼번에|왕창|몽땅)(먹|삼키)|유서(를|도)?(쓰|써|썼|남기|남겼|작성)",
    ),
    _rule(
        "crisis.ko.self_harm",
        r"자해(하고|하는|했|를|충동|하게|하면|흔적|할까|하고싶|해버|해요|해)|(손목|팔|허벅지)(을|를|에)?(칼로|커터칼로|면도칼로)?(긋|그었|그어|그을)",
        after=r"^(는|은)?(장면|씬|신이|연기|묘사)",  # a scene in a film or book
    ),
    _rule(
        "crisis.en.kill_self",
        r"\b(kill|killing|end|ending) (my ?self|me now)\b",
        before=r"\bcould $",
        after=r"^ ?(laughing|with laughter|for (forgetting|missing|losing|not|being|that|this|doing|saying))",
    ),
    _rule(
        "crisis.en.someone_else",
        r"\b(he|she|they|friend|brother|sister|son|daughter|mom|mother|dad|father|kid|child|partner|wife|husband)"
        r"( \S+){0,4} (wants?|is going|keeps? saying|says?|said|is planning|plans?|threaten(s|ed)?|tried) (that )?"
        r"(to |he wants to |she wants to |they want to )?(kill (him|her|them)sel(f|ves)|die|end (his|her|their) "
        r"(own )?life|commit suicide)\b",
        after=r"^ ?(laughing|of (laughter|embarrassment|boredom)|for)",
    ),
    _rule(
        "crisis.en.suicide",
        r"\b(suicidal|suicide (note|plan|attempt)|(commit|committing|attempt|attempting|considering|contemplating|"
        r"thinking about|thinking of|thoughts of) suicide)\b",
    ),
    _rule(
        "crisis.en.want_to_die",
        r"\b(i|i'm|im|i am|just) ?(really |just |so |truly )?(want|wanna|wish|going|ready|deserve|need) (to )?die\b|"
        r"\bwish i (was|were) (dead|never born)\b|\b(don't|dont|do not) want to wake up\b|\bwish i (would|could) "
        r"(not|never) wake up\b",
        after=r"^ ?(on (this|that) hill|my|her|his|their|laughing|of (laughter|embarrassment|boredom)|for)",
    ),
    _rule(
        "crisis.en.not_live",
        r"\b(don't|dont|do not|no longer|never) want to (live|be alive|exist|be here anymore|go on)\b",
        after=r"^ ?(in|at|with|near|on|there|like (this|that) (city|town|place)|together|alone in)\b",
    ),
    _rule(
        "crisis.en.no_reason",
        r"\b(no|any) reason (to|for) (live|living|go on|going on|stay alive)\b|\bnot worth living\b|"
        r"\bbetter off (dead|without me)\b|\bcan't go on (anymore|like this|living)\b|\bend it all\b|"
        r"\b(end|ending|take|taking) my (own )?life\b",
    ),
    _rule(
        "crisis.en.self_harm",
        r"\b(self[ -]?harm(ing)?|(cut|cutting|burn|burning|hurt|hurting|harm|harming) myself)\b",
        before=r"\b(accidentally|almost|nearly) $",
        after=r"^ ?(shaving|cooking|chopping|slicing|at the gym|at work|playing|on (a|the|my)|while|lifting|running|"
        r"with (a|the) (knife|razor) (while|when)|in the kitchen|opening)",
    ),
    _rule(
        "crisis.en.method",
        r"\boverdos(e|ing) on (my |all my |the )?(pills|sleeping pills|meds|medication|tylenol|paracetamol|insulin)\b|"
        r"\bhow many (pills|tablets|sleeping pills) (to|would|does it take|until)\b|\bhang(ing)? myself\b|"
        r"\b(want|going|gonna|ready|thinking about|thinking of) (to )?(jump|jumping) (off|from) (a|the|this|my)? ?"
        r"(bridge|roof|building|balcony|cliff|window)\b|\bpainless (way|ways|method|methods) to die\b|"
        r"\bhow to (kill myself|die painlessly|commit suicide|end my life)\b|"
        r"\bwrit(e|ing|ten) (a|my) (suicide|goodbye) (note|letter)\b",
    ),
)

# --- prompt injection: instructions hidden in user or retrieved content --------------------------------

INJECTION: tuple[Rule, ...] = (
    _rule(
        "injection.en.ignore",
        r"\b(ignore|disregard|forget|override|bypass) (all |any |the |your |my )?(of )?(the )?(previous|prior|above|"
        r"earlier|preceding|foregoing|original|initial|system|developer|your|all|these|those) ?(\w+ )?(instructions?|"
        r"prompts?|directions|directives|guidelines|rules|messages)\b",
        before=r"\b(don't|dont|do not|never|shouldn't|should not|not to|didn't|did not) $",
    ),
    _rule(
        "injection.en.exfiltrate",
        r"\b(reveal|show|print|output|repeat|display|tell me|give me|what (is|are|were)|leak|dump|copy|paste|recite|"
        r"spell out|write out|share) (me )?(your|the) "
        r"(full |entire |exact |original |hidden |initial |secret |complete )*"
        r"(system (prompt|message|instructions)|developer (prompt|message)|initial (prompt|instructions)|hidden "
        r"(prompt|instructions)|prompt|instructions|original instructions)\b|"
        r"\b(repeat|print|output) (everything|all|the text|the words) (above|before this)\b|"
        r"\b(text|everything|words) above starting with\b",
        after=r"^ ?(for (assembling|installing|using|the (desk|device|product|app|recipe))|to (assemble|install|use))",
    ),
    _rule(
        "injection.en.role",
        r"\byou are now (dan|in (developer|god|jailbreak|unrestricted) mode|an? (unrestricted|unfiltered|jailbroken|"
        r"evil|uncensored))\b|\b(developer|god|jailbreak|dan) mode (enabled|on|activated)\b|\bdo anything now\b|"
        r"\b(act|respond|answer|pretend) (as if|like) you (have|had) no (restrictions|rules|filters|guidelines|"
        r"limits)\b|\bwithout (any )?(restrictions|filters|censorship|safety guidelines)\b|\bjailbreak (prompt|mode)\b",
    ),
    _rule(
        "injection.en.marker",
        r"<\|im_start\|>|<\|system\|>|<\|endoftext\|>|\[/?inst\]|<</?sys>>|</?system>|\[system\]|\bnew instructions ?:|"
        r"\bbegin (system|admin|developer) (prompt|override|instructions)\b|\bsystem override\b|"
        r"\bend of (user|system) (input|prompt|message)\b",
    ),
    _rule(
        "injection.ko.ignore",
        r"(이전|앞|위|앞서|기존|지금까지|모든|처음|원래|위에|앞에|상위|시스템)(의|에)?(모든)?(지시|지침|명령|규칙|프롬프트|설정|안내|지령)"
        r"(사항|문|들)?(은|는|을|를|들은|들을|다|도)?(전부|모두|다|싹|완전히)?(무시|잊어|잊고|무효|지워|따르지마|따르지말)",
        after=r"^(해서|했|한|하지|하면안|하는|당|하시|하셨|되)",
    ),
    _rule(
        "injection.ko.exfiltrate",
        r"(시스템|system|개발자|초기|숨겨진|원래|(처음|맨처음|앞서|이전에|너가|네가)받은)(프롬프트|prompt|메시지|메세지|지시|지침|설정|명령)"
        r"(문|사항)?(을|를|이|가|은|는|좀)?"
        r"(그대로|전부|전체|모두|원문|내용|한글자도빠짐없이|정확히)?(을|를)?(알려|보여|출력|공개|말해|적어|복사|뱉어|노출|읊어|써줘)|"
        r"(너의|너한테주어진|당신의|니|너에게주어진|네가받은)(원래|처음|숨겨진|초기|모든)?(지시|지침|규칙|프롬프트|설정|명령)(사항|문)?"
        r"(을|를|은|는)?(전부|모두|그대로)?(알려|보여|출력|공개|말해|적어)|(위|앞)(의|에)?(내용|텍스트|문장|글|모든것)(을|를)?"
        r"(그대로|전부)(반복|출력|복사)",
    ),
    _rule(
        "injection.ko.role",
        r"(개발자|관리자|탈옥|dan|제한없는|무제한|관리자권한)모드(로|를|에|활성|켜)|탈옥프롬프트|"
        r"(제한|제약|규칙|검열|필터|윤리)(이|을|을모두|은)?(없이|없는척|해제하고|풀고)(대답|답|말|응답|행동)|"
        r"(너는|넌)(이제|이제부터|지금부터|앞으로)(부터)?(제한|제약|규칙|검열|필터|윤리)\S{0,6}(없|무시|해제)",
    ),
    _rule(
        "injection.ko.marker",
        r"(새로운|새|추가)(지시|지침|명령)(사항)?[:：]|\[시스템\]|<시스템>|(시스템|관리자)(메시지|명령)[:：]",
    ),
)

RULES: dict[str, tuple[Rule, ...]] = {"crisis": CRISIS, "injection": INJECTION}

__all__ = ["CRISIS", "INJECTION", "RULES", "WINDOW", "Rule"]
