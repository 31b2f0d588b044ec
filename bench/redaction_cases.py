"""The redaction bench's set, written by hand for it: Korean and English text around each entity.

POSITIVES maps a category to (text, secret) pairs: the secret must not survive redaction. HARD_NEGATIVES
maps a category to texts that hold no entity and must come out unchanged. Every number is synthetic.
"""

from __future__ import annotations

POSITIVES: dict[str, list[tuple[str, str]]] = {
    "phone": [
        ("연락처는 010-1234-5678입니다", "010-1234-5678"),
        ("사장님 번호 01098765432로 문자 주세요", "01098765432"),
        ("매장 02-555-0199, 영업시간 10시~22시", "02-555-0199"),
        ("부산점 051.234.5678 (주차 가능)", "051.234.5678"),
        ("call +82 10-2345-6789 after 6pm", "+82 10-2345-6789"),
        ("US office: (415) 555-0100", "(415) 555-0100"),
        ("고객센터 1588-1234 로 문의", "1588-1234"),
        ("휴대폰 (010) 4321-8765 으로 연락", "(010) 4321-8765"),
        ("전화 ０１０－５５５５－１２３４ 주세요", "０１０－５５５５－１２３４"),
        ("번호 010\u20101111\u20102222 입니다", "010\u20101111\u20102222"),
        ("번호 010\u20132222\u20133333", "010\u20132222\u20133333"),
        ("배달 문의 010\u200b-3333-\u200b4444", "010\u200b-3333-\u200b4444"),
        ("문의는 공일공 일이삼사 오육칠팔로 주세요", "공일공 일이삼사 오육칠팔"),
        ("번호 공일공-구팔칠육-오사삼이에요", "공일공-구팔칠육-오사삼"),
        ("정답은 010 - 7777 - 8888 이에요", "010 - 7777 - 8888"),
        ("Reach me at 82-10-5555-6666 today", "82-10-5555-6666"),
    ],
    "rrn": [
        ("주민번호 900101-1234567 확인 부탁", "900101-1234567"),
        ("외국인등록번호 020315-5123456", "020315-5123456"),
        ("생년월일 포함 8812241234567", "8812241234567"),
        ("주민 ９５０７０７－２３４５６７８ 입니다", "９５０７０７－２３４５６７８"),
        ("RRN 750505\u20101122334", "750505\u20101122334"),
        ("번호 011231 - 3456789", "011231 - 3456789"),
        ("주민번호 구공공일공일 일이삼사오육칠", "구공공일공일 일이삼사오육칠"),
    ],
    "card": [
        ("카드 4111 1111 1111 1111 로 결제", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004.", "5500-0000-0000-0004"),
        ("amex 3782 822463 10005 ok", "3782 822463 10005"),
        ("번호 4012888888881881 입니다", "4012888888881881"),
        ("카드 ４１１１ １１１１ １１１１ １１１１", "４１１１ １１１１ １１１１ １１１１"),
        ("카드 4111\u20601111\u20601111\u20601111", "4111\u20601111\u20601111\u20601111"),
        ("수량 2 카드 5105 1051 0510 5100", "5105 1051 0510 5100"),
    ],
    "email": [
        ("메일은 kim.minsu+shop@example.co.kr 로 보내 주세요", "kim.minsu+shop@example.co.kr"),
        ("contact: jane_doe@mail.example.com", "jane_doe@mail.example.com"),
        ("abc123@naver.com으로 회신", "abc123@naver.com"),
        ("메일 kim@예시.한국 로", "kim@예시.한국"),
        ("write to user@bücher.de", "user@bücher.de"),
        ("kim [at] example [dot] com 으로", "kim [at] example [dot] com"),
        ("email: lee(at)shop(dot)co(dot)kr", "lee(at)shop(dot)co(dot)kr"),
        ("reach park at example dot com", "park at example dot com"),
        ("메일 hong 골뱅이 naver 점 com", "hong 골뱅이 naver 점 com"),
        ("메일 ｓｏｎ＠ｅｘａｍｐｌｅ．ｃｏｍ 입니다", "ｓｏｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("k\u200bim@example.org 로", "k\u200bim@example.org"),
    ],
    "api_key": [
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234 설정", "sk-proj-abcdefghijklmnop1234"),
        ("anthropic sk-ant-api03-AbCdEfGhIjKlMnOpQr", "sk-ant-api03-AbCdEfGhIjKlMnOpQr"),
        ("gateway andon_sk_3kq9x0ZZ_81Tb", "andon_sk_3kq9x0ZZ_81Tb"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
        ("임시 키 ASIAY34FZKBOKMUTVV7A 만료", "ASIAY34FZKBOKMUTVV7A"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("maps key AIzaSyA-1234567890abcdefghijklmnopqrstu", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        ),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    ],
}

HARD_NEGATIVES: dict[str, list[str]] = {
    "order_number": [
        "주문번호 2026-1201-0042 배송 시작",
        "order #123456789 confirmed",
        "주문 A-20261201-7781 접수",
        "예약번호 R2026120100042",
    ],
    "price": [
        "김치찌개 ₩12,000 / 된장찌개 ₩9,500",
        "총 1,234,000원 (부가세 포함)",
        "price $1,299.99, was $1,499.00",
        "배달팁 3,000원, 최소주문 15,000원",
    ],
    "date_time": [
        "2026-12-01 10:30에 오픈",
        "2026.12.01 ~ 2026.12.31 이벤트",
        "2026년 12월 1일 오후 3시",
        "due 12/01/2026, 14:00 KST",
        "영업시간 10:00-22:00, 휴무 매주 월요일",
    ],
    "tracking": [
        "운송장 612345678901 (CJ대한통운)",
        "tracking 1Z999AA10123456784",
        "송장번호 5512-3456-7890",
        "우체국 6865012345678 조회",
    ],
    "version": [
        "version 2.10.4, build 20261201.4",
        "v1.2.3-rc.1 released",
        "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "IP 192.168.0.1 port 8080",
    ],
    "prose": [
        "see the docs at docs.python.org",
        "the bearer of this letter",
        "이 일은 사실 오래 걸려요, 일이 많아서",
        "수량 1~3개, 사이즈 L",
        "Let's meet at the cafe at noon.",
        "sk-short is not a key",
    ],
}
