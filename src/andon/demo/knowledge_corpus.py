"""A small help-centre corpus in the style of a Korean second-hand marketplace's support articles, written
for andon (the ``cs-chatbot`` demo and bench/knowledge.py): 8 articles × 4 sections, and one question per
section whose answer is one sentence.

Questions are paraphrases (they share few words with their section), and neighbouring articles share
vocabulary (환불, 배송, 인증 appear in several), so BM25 alone does not always win.
"""

from __future__ import annotations

# "= file title" starts an article, "## " a section, "- " a sentence ("* " the answer), "? " its question.
CORPUS = """
= trade.md 중고거래 시작하기
## 물건 올리기
- 판매할 물건은 홈 화면의 글쓰기 버튼으로 등록합니다.
* 사진은 최대 10장까지 올릴 수 있습니다.
- 가격을 비워 두면 나눔으로 표시됩니다.
? 판매글에 이미지를 몇 개까지 넣을 수 있나요?
## 가격 제안
- 구매자는 판매글에서 가격 제안 버튼을 눌러 원하는 금액을 보낼 수 있습니다.
* 판매자가 제안을 받지 않도록 설정하면 버튼이 보이지 않습니다.
? 네고 요청을 아예 못 받게 할 수 있어요?
## 거래 약속
- 채팅방에서 약속 잡기를 누르면 날짜와 장소를 정할 수 있습니다.
* 약속 한 시간 전에 두 사람 모두에게 알림이 갑니다.
? 만나기 전에 미리 알려 주는 기능이 있나요?
## 거래 완료
- 거래가 끝나면 판매자가 상태를 거래완료로 바꿉니다.
* 거래완료 후 사흘 안에 후기를 남길 수 있습니다.
? 리뷰는 언제까지 쓸 수 있죠?
= account.md 계정과 로그인
## 가입
- 가입에는 휴대폰 번호 인증이 필요합니다.
* 한 번호로는 계정 하나만 만들 수 있습니다.
? 전화번호 하나로 아이디를 여러 개 만들 수 있나요?
## 번호 변경
- 휴대폰 번호가 바뀌면 설정의 계정 정보에서 새 번호로 인증합니다.
* 예전 번호를 쓸 수 없으면 고객센터에 신분 확인을 요청하세요.
? 옛날 폰 번호가 없어졌는데 어떻게 하죠?
## 탈퇴
- 탈퇴하면 판매글과 채팅 기록이 모두 지워집니다.
* 탈퇴 후 7일 동안은 같은 번호로 다시 가입할 수 없습니다.
? 회원 탈퇴하고 바로 재가입 되나요?
## 이용 제한
- 운영정책을 어기면 일정 기간 이용이 제한됩니다.
* 제한 사유는 알림 센터에서 확인할 수 있습니다.
? 정지당한 이유를 어디서 보나요?
= pay.md 페이 결제
## 충전
- 페이 머니는 연결한 은행 계좌에서 충전합니다.
* 한 번에 최대 200만 원까지 충전할 수 있습니다.
? 머니 충전 한도가 얼마예요?
## 송금 수수료
- 페이로 보내는 돈에는 수수료가 없습니다.
* 다만 한 달에 열 번을 넘는 출금에는 500원이 붙습니다.
? 계좌로 빼는 데 돈이 드나요?
## 결제 취소
- 구매 확정 전에는 구매자가 결제를 취소할 수 있습니다.
* 취소한 금액은 영업일 기준 3일 안에 돌아옵니다.
? 취소하면 돈이 언제 들어와요?
## 안전결제
- 안전결제를 쓰면 구매 확정 때까지 대금이 보관됩니다.
* 물건을 받고 8일이 지나면 자동으로 구매 확정됩니다.
? 수령 확인을 안 누르면 어떻게 되나요?
= delivery.md 택배 거래
## 택배 예약
- 택배 거래는 채팅방의 택배 예약 메뉴에서 신청합니다.
* 편의점 접수를 고르면 가까운 점포에 맡길 수 있습니다.
? 물건을 편의점에 맡겨서 보낼 수 있나요?
## 배송 기간
- 택배는 보통 접수 다음 날부터 이틀 안에 도착합니다.
* 제주와 도서 지역은 하루에서 이틀이 더 걸립니다.
? 섬으로 보내면 얼마나 더 걸려요?
## 운송장
* 접수가 끝나면 운송장 번호가 채팅방에 자동으로 올라옵니다.
- 구매자는 운송장을 눌러 배송 위치를 봅니다.
? 송장 번호는 어디서 받아요?
## 파손
- 배송 중 파손되면 받은 날로부터 이틀 안에 사진과 함께 신고하세요.
* 택배사 확인 후 최대 50만 원까지 보상됩니다.
? 깨진 물건은 얼마까지 물어 주나요?
= refund.md 환불과 분쟁
## 환불 요청
- 안전결제로 산 물건은 구매 확정 전까지 환불을 요청할 수 있습니다.
* 판매자가 이틀 안에 답하지 않으면 자동으로 환불됩니다.
? 판매자가 답장이 없으면 돈은 어떻게 돼요?
## 반품 배송비
- 단순 변심으로 반품하면 왕복 배송비는 구매자가 냅니다.
* 물건이 설명과 다르면 판매자가 배송비를 부담합니다.
? 상품 설명이랑 달라서 돌려보낼 때 택배비는 누가 내나요?
## 분쟁 조정
- 두 사람이 합의하지 못하면 고객센터가 분쟁 조정을 시작합니다.
* 조정에는 보통 닷새가 걸립니다.
? 중재 결과는 며칠 만에 나와요?
## 직거래 환불
- 직거래는 당사자끼리 해결하는 것이 원칙입니다.
* 사기가 의심되면 경찰에 신고하고 신고 번호를 알려 주세요.
? 만나서 샀는데 속은 것 같으면 어떻게 하죠?
= neighborhood.md 동네 인증
## 인증 방법
- 동네 인증은 지금 있는 위치의 GPS로 확인합니다.
* 인증은 30일 동안 유지됩니다.
? 동네 확인은 얼마 동안 유효한가요?
## 동네 범위
* 동네 범위는 가까운 동네부터 먼 동네까지 네 단계로 고릅니다.
- 범위를 넓히면 더 많은 판매글이 보입니다.
? 보이는 지역을 넓히고 싶어요
## 동네 개수
* 동네는 최대 두 곳까지 설정할 수 있습니다.
- 두 번째 동네도 따로 인증해야 합니다.
? 지역을 몇 군데까지 등록할 수 있죠?
## 인증 실패
* 위치가 잡히지 않으면 와이파이를 켜고 다시 시도하세요.
- 실내에서는 창가로 가면 위치가 더 정확해집니다.
? GPS가 안 잡혀서 인증이 안 돼요
= chat.md 채팅과 신고
## 차단
- 상대를 차단하면 그 사람의 채팅과 판매글이 보이지 않습니다.
* 차단은 설정의 차단 목록에서 풀 수 있습니다.
? 막아 둔 사람을 다시 풀려면?
## 신고
- 채팅방 오른쪽 위 메뉴에서 신고하기를 누릅니다.
* 운영팀은 신고를 24시간 안에 검토합니다.
? 신고하면 얼마 만에 처리돼요?
## 외부 연락처
- 채팅에서 외부 메신저 아이디를 요구하면 사기일 수 있습니다.
* 개인 계좌로 먼저 돈을 보내지 마세요.
? 입금을 먼저 해 달라는데 괜찮을까요?
## 채팅 보관
* 채팅 기록은 거래가 끝나도 1년 동안 보관됩니다.
- 보관 기간이 지나면 사진부터 지워집니다.
? 대화 내용은 언제까지 남아요?
= business.md 비즈 프로필
## 만들기
- 가게를 하는 사람은 비즈 프로필을 만들어 소식을 올릴 수 있습니다.
* 프로필 만들기는 무료입니다.
? 가게 페이지 개설에 돈이 드나요?
## 광고
- 광고는 하루 예산을 정해 동네 주민에게 보여 줍니다.
* 최소 하루 예산은 5천 원입니다.
? 홍보비는 하루에 최소 얼마부터예요?
## 쿠폰
- 비즈 프로필에서 쿠폰을 만들면 단골에게 알림이 갑니다.
* 쿠폰 유효 기간은 최대 90일입니다.
? 할인권은 며칠까지 쓸 수 있게 만들 수 있어요?
## 후기 관리
- 손님이 남긴 후기에는 사장님이 한 번 답글을 달 수 있습니다.
* 욕설이 있는 후기는 숨김을 요청할 수 있습니다.
? 악플 같은 리뷰를 가릴 수 있나요?
"""


def _articles() -> dict[str, tuple[str, list[tuple[str, list[str], int, str]]]]:
    """``CORPUS`` read: file -> (title, [(section, sentences, index of the answer sentence, question)])."""
    out: dict[str, tuple[str, list[tuple[str, list[str], int, str]]]] = {}
    sections: list[tuple[str, list[str], int, str]] = []
    heading, answer = "", 0
    sentences: list[str] = []
    for line in CORPUS.strip().splitlines():
        mark, _, rest = line.partition(" ")
        if mark == "=":
            name, _, title = rest.partition(" ")
            sections = []
            out[name] = (title, sections)
        elif mark == "##":
            heading, sentences, answer = rest, [], 0
        elif mark in ("-", "*"):
            answer = len(sentences) if mark == "*" else answer
            sentences.append(rest)
        elif mark == "?":
            sections.append((heading, sentences, answer, rest))
    return out


ARTICLES = _articles()


def documents() -> dict[str, str]:
    """Each article as Markdown: a title, then one ``##`` section per topic."""
    out = {}
    for name, (title, sections) in ARTICLES.items():
        parts = [f"# {title}"]
        for heading, sentences, _, _ in sections:
            parts += [f"## {heading}", " ".join(sentences)]
        out[name] = "\n\n".join(parts) + "\n"
    return out


def questions() -> list[tuple[str, str, str]]:
    """``(question, file, answer sentence)`` for every section."""
    return [
        (question, name, sentences[answer])
        for name, (_, sections) in ARTICLES.items()
        for _, sentences, answer, question in sections
    ]
