"""Page text in Traditional Chinese (Hong Kong) and English.

A plain dict is enough for a demo: ``STRINGS[key][lang]``. Use :func:`translate`
for one language and :func:`both` when a message must appear in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Supported page languages, default first. Values are also sent as ``ui_locales``.
LANGUAGES = ("zh-HK", "en")
DEFAULT_LANGUAGE = "zh-HK"

#: The name of each language written in that language (for the switch link).
LANGUAGE_NAMES = {"zh-HK": "繁體中文", "en": "English"}

_ALIASES = {
    "zh-hk": "zh-HK",
    "zh-hant": "zh-HK",
    "zh-hant-hk": "zh-HK",
    "zh-tw": "zh-HK",
    "zh": "zh-HK",
    "en": "en",
    "en-hk": "en",
    "en-gb": "en",
    "en-us": "en",
}

STRINGS: dict[str, dict[str, str]] = {
    # --- layout -----------------------------------------------------------------
    "app_title": {"zh-HK": "車輛牌照續期（示範）", "en": "Vehicle licence renewal (demo)"},
    "dept_name": {"zh-HK": "運輸署（示範）", "en": "Transport Department (demo)"},
    "demo_notice": {
        "zh-HK": "這是 tungban 平台的示範服務，並非真正的政府服務。",
        "en": "This is a demo service for the tungban platform, not a real government service.",
    },
    "skip_link": {"zh-HK": "跳至主要內容", "en": "Skip to main content"},
    "switch_language": {"zh-HK": "轉換語言", "en": "Change language"},
    # --- home -------------------------------------------------------------------
    "home_heading": {"zh-HK": "車輛牌照續期", "en": "Renew a vehicle licence"},
    "home_intro": {
        "zh-HK": "以 tungban 通辦登入，申請表便會自動填上你同意提供的個人資料。你亦可以不登入，只用 tungban 通辦填表。",
        "en": "Log in with tungban and the form is filled in with the personal "
        "data you agree to share. You can also use tungban just to fill in the form, "
        "without logging in.",
    },
    "btn_login": {
        "zh-HK": "以 tungban 通辦登入",
        "en": "Log in with tungban",
    },
    "btn_anonymous": {"zh-HK": "毋須登入，以通辦填表", "en": "Fill form without logging in"},
    "anonymous_explain": {
        "zh-HK": "匿名填表只會傳送你批准的表格資料；你不會登入，本服務亦不會收到你的帳戶識別碼。",
        "en": "Anonymous form filling sends only the form data you approve; you are not "
        "logged in and this service receives no account identifier.",
    },
    "manual_link": {"zh-HK": "或自行填寫表格", "en": "Or fill in the form yourself"},
    "msg_logged_out": {"zh-HK": "你已登出本服務。", "en": "You have logged out of this service."},
    "msg_logged_out_op": {
        "zh-HK": "你已登出本服務及 tungban 通辦。",
        "en": "You have logged out of this service and of tungban.",
    },
    "msg_cleared": {
        "zh-HK": "已清除本服務保存的表格資料。",
        "en": "The form data held by this service has been cleared.",
    },
    # --- form -------------------------------------------------------------------
    "form_heading": {"zh-HK": "車輛牌照續期申請表", "en": "Vehicle licence renewal application"},
    "form_intro": {
        "zh-HK": "標有 * 的欄位必須填寫。由 tungban 填上的資料亦可以修改。",
        "en": "Fields marked * are required. You can change anything filled in from tungban.",
    },
    "not_logged_in_note": {
        "zh-HK": "你未有登入，請自行填寫表格。",
        "en": "You are not logged in. Please fill in the form yourself.",
    },
    "missing_essential": {
        "zh-HK": "tungban 未有提供以下資料，請自行填寫：{fields}",
        "en": "tungban did not release the following; please type them in: {fields}",
    },
    "section_applicant": {"zh-HK": "申請人資料", "en": "Applicant"},
    "section_vehicle": {"zh-HK": "車輛及牌照", "en": "Vehicle and licence"},
    "label_name_en": {"zh-HK": "英文姓名", "en": "Name in English"},
    "label_name_zh": {"zh-HK": "中文姓名", "en": "Name in Chinese"},
    "label_hkid": {"zh-HK": "香港身份證號碼", "en": "HKID number"},
    "hint_hkid": {"zh-HK": "例如 A123456(3)", "en": "For example A123456(3)"},
    "label_birthdate": {"zh-HK": "出生日期", "en": "Date of birth"},
    "label_gender": {"zh-HK": "性別", "en": "Gender"},
    "gender_blank": {"zh-HK": "— 請選擇 —", "en": "— Please choose —"},
    "gender_male": {"zh-HK": "男", "en": "Male"},
    "gender_female": {"zh-HK": "女", "en": "Female"},
    "gender_other": {"zh-HK": "其他", "en": "Other"},
    "label_address": {"zh-HK": "住址", "en": "Residential address"},
    "label_phone": {"zh-HK": "電話號碼", "en": "Phone number"},
    "label_email": {"zh-HK": "電郵地址", "en": "Email address"},
    "label_billing_address": {
        "zh-HK": "賬單地址（作住址證明）",
        "en": "Billing address (serves as address proof)",
    },
    "label_registration_mark": {"zh-HK": "車輛登記號碼", "en": "Vehicle registration mark"},
    "hint_registration_mark": {"zh-HK": "例如 AB1234", "en": "For example AB1234"},
    "label_period": {"zh-HK": "牌照有效期", "en": "Licence period"},
    "period_blank": {"zh-HK": "— 請選擇 —", "en": "— Please choose —"},
    "period_4": {"zh-HK": "4 個月", "en": "4 months"},
    "period_12": {"zh-HK": "12 個月", "en": "12 months"},
    "filled_from_tungban": {"zh-HK": "由 tungban 填上", "en": "filled from tungban"},
    "required": {"zh-HK": "必填", "en": "required"},
    "btn_submit": {"zh-HK": "提交申請", "en": "Submit application"},
    "error_summary_title": {"zh-HK": "請修正以下問題：", "en": "Please correct the following:"},
    "err_required": {"zh-HK": "請填寫此欄。", "en": "This field is required."},
    "err_registration_mark": {
        "zh-HK": "登記號碼應為兩個英文字母加最多四個數字，例如 AB1234。",
        "en": "Enter two letters and up to four digits, for example AB1234.",
    },
    "err_period": {"zh-HK": "請選擇 4 或 12 個月。", "en": "Choose 4 or 12 months."},
    "err_gender": {"zh-HK": "請選擇有效的性別。", "en": "Choose a valid gender."},
    "err_birthdate": {
        "zh-HK": "請輸入有效日期（年-月-日）。",
        "en": "Enter a valid date (YYYY-MM-DD).",
    },
    "err_email": {"zh-HK": "請輸入有效的電郵地址。", "en": "Enter a valid email address."},
    "err_phone": {"zh-HK": "請輸入有效的電話號碼。", "en": "Enter a valid phone number."},
    # --- login box --------------------------------------------------------------
    "login_box_title": {"zh-HK": "你的登入", "en": "Your login"},
    "login_sub": {
        "zh-HK": "你在本服務的帳戶識別碼（sub）",
        "en": "Your identifier for this service (sub)",
    },
    "login_acr": {"zh-HK": "身份認證級別（acr）", "en": "Assurance level (acr)"},
    "login_auth_time": {"zh-HK": "登入時間", "en": "Logged in at"},
    "login_amr": {"zh-HK": "認證方法（amr）", "en": "Authentication methods (amr)"},
    "acr_basic": {"zh-HK": "通辦", "en": "tungban"},
    "acr_plus": {"zh-HK": "通辦+", "en": "tungban+"},
    "anonymous_box": {
        "zh-HK": "匿名填表：你未有登入，本服務沒有收到任何帳戶識別碼。",
        "en": "Anonymous form filling: you are not logged in and this service has received no account identifier.",
    },
    "btn_relogin": {"zh-HK": "重新登入", "en": "Log in again"},
    "btn_logout": {"zh-HK": "登出", "en": "Log out"},
    "btn_clear": {"zh-HK": "清除資料", "en": "Clear data"},
    # --- confirmation -----------------------------------------------------------
    "confirm_heading": {"zh-HK": "已收到你的申請", "en": "Application received"},
    "confirm_reference": {"zh-HK": "參考編號", "en": "Reference number"},
    "confirm_text": {
        "zh-HK": "我們已收到你的車輛牌照續期申請。這是示範服務，申請不會被處理。",
        "en": "We have received your vehicle licence renewal application. This is a demo: nothing will be processed.",
    },
    "confirm_summary": {"zh-HK": "申請摘要", "en": "Summary"},
    "btn_home": {"zh-HK": "返回首頁", "en": "Back to home page"},
    "btn_new_form": {"zh-HK": "填寫另一份申請", "en": "Fill in another application"},
    # --- signing the declaration (tungban digital signing, tungban+) ---------------
    "sign_section_title": {"zh-HK": "簽署聲明", "en": "Sign the declaration"},
    "sign_intro": {
        "zh-HK": "最後一步：以 tungban 通辦（通辦+帳戶）數碼簽署申請聲明。你會在手機上的 tungban 通辦 app 批准簽署。",
        "en": "Last step: sign the application's declaration digitally with your tungban+ account. "
        "You approve the signature in the tungban app on your phone.",
    },
    "sign_needs_plus": {
        "zh-HK": "數碼簽署需要通辦+帳戶（在登記處親身登記）。",
        "en": "Digital signing needs a tungban+ account (registered in person at a registration counter).",
    },
    "sign_basic_warning": {
        "zh-HK": "你以通辦基本帳戶登入。數碼簽署需要通辦+帳戶：請先到登記處升級帳戶。",
        "en": "You logged in with a basic tungban account. Signing needs a tungban+ account: "
        "upgrade your account at a registration counter first.",
    },
    "sign_anonymous_note": {
        "zh-HK": "你未有登入：在 app 批准的人會以自己的名義簽署。",
        "en": "You are not logged in: whoever approves in the app signs in their own name.",
    },
    "sign_preview": {"zh-HK": "查看聲明（PDF）", "en": "View the declaration (PDF)"},
    "btn_sign": {"zh-HK": "簽署聲明", "en": "Sign the declaration"},
    "sign_heading": {
        "zh-HK": "請在 tungban 通辦 app 批准簽署",
        "en": "Approve the signature in your tungban app",
    },
    "sign_steps_scan": {
        "zh-HK": "在電腦上：用手機上的 tungban 通辦 app 掃描此二維碼。在手機上：按「開啟 app」。",
        "en": "On a computer: scan this QR code with the tungban app on your phone. "
        "On your phone: press \u201cOpen the app\u201d.",
    },
    "sign_steps_check": {
        "zh-HK": "在 app 核對文件名稱及 6 位核對碼與下面相同，然後以指紋、面容或螢幕鎖批准。",
        "en": "In the app, check that the document name and the 6-character comparison code are the same as "
        "below, then approve with your fingerprint, face or screen lock.",
    },
    "sign_qr_title": {"zh-HK": "以 tungban 通辦 app 掃描的二維碼", "en": "QR code to scan with the tungban app"},
    "btn_open_app": {"zh-HK": "開啟 app", "en": "Open the app"},
    "sign_document": {"zh-HK": "文件", "en": "Document"},
    "sign_digest": {"zh-HK": "SHA-256 雜湊值", "en": "SHA-256 digest"},
    "sign_waiting": {"zh-HK": "正在等待你在 app 批准……", "en": "Waiting for your approval in the app…"},
    "sign_expires": {"zh-HK": "此要求於 {time} 失效。", "en": "This request expires at {time}."},
    "sign_time_left": {"zh-HK": "剩餘時間：{time}", "en": "Time left: {time}"},
    "sign_problem": {
        "zh-HK": "暫時未能向 tungban 通辦查詢結果，會繼續嘗試。",
        "en": "Could not check the result with tungban just now; still trying.",
    },
    "btn_check_status": {"zh-HK": "我已批准，查看結果", "en": "I have approved: check now"},
    "sign_done_heading": {"zh-HK": "聲明已簽署", "en": "Declaration signed"},
    "sign_signed_by": {"zh-HK": "已由 {name} 於 {time} 簽署", "en": "Signed by {name} at {time}"},
    "sign_certificate": {"zh-HK": "簽署證書序號", "en": "Signing certificate serial number"},
    "btn_download_signed": {
        "zh-HK": "下載已簽署的聲明（PDF）",
        "en": "Download the signed declaration (PDF)",
    },
    "sign_not_signed_heading": {"zh-HK": "聲明未有簽署", "en": "The declaration is not signed"},
    "sign_declined": {
        "zh-HK": "你已在 app 拒絕簽署。聲明簽署後，申請才算完成。",
        "en": "You declined to sign in the app. Your application is complete only once the declaration is signed.",
    },
    "sign_expired": {
        "zh-HK": "簽署要求已逾時（要求有效 2 分鐘），聲明未有簽署。請再試一次。",
        "en": "The signing request expired (requests last 2 minutes) and nothing was signed. Please try again.",
    },
    "sign_err_plus_required": {
        "zh-HK": "數碼簽署需要通辦+帳戶。你的 tungban 通辦帳戶是基本帳戶：請攜同香港身份證到登記處"
        "親身升級至通辦+帳戶，然後再簽署。",
        "en": "Signing needs a tungban+ account. Your tungban account is basic: upgrade it to "
        "tungban+ in person at a registration counter with your HKID card, then sign again.",
    },
    "sign_err_certificate_revoked": {
        "zh-HK": "你的簽署證書已被撤銷。請重新綁定 tungban 通辦 app 以取得新證書，然後再試一次。",
        "en": "Your signing certificate has been revoked. Bind the tungban app again to get a new one, then try again.",
    },
    "sign_err_no_device": {
        "zh-HK": "你的帳戶未有綁定 tungban 通辦 app。請先綁定，然後再試一次。",
        "en": "Your account has no tungban app bound. Bind the app first, then try again.",
    },
    "sign_err_account_suspended": {
        "zh-HK": "你的 tungban 通辦帳戶已被暫停，未能簽署。",
        "en": "Your tungban account is suspended, so it cannot sign.",
    },
    "sign_err_not_allowed": {
        "zh-HK": "本服務未獲 tungban 通辦授權要求數碼簽署。",
        "en": "This service is not authorised by tungban to request signatures.",
    },
    "sign_err_login_again": {
        "zh-HK": "你的登入已逾時，或對簽署而言太舊。請重新登入，然後再簽署。",
        "en": "Your login has expired or is too old for signing. Log in again, then sign.",
    },
    "sign_err_unreachable": {
        "zh-HK": "未能連接 tungban 通辦的簽署服務（{issuer}）。請稍後再試。",
        "en": "Cannot reach tungban's signing service at {issuer}. Please try again later.",
    },
    "sign_err_platform": {
        "zh-HK": "tungban 通辦未能處理簽署要求。",
        "en": "tungban could not handle the signing request.",
    },
    "sign_err_failed": {
        "zh-HK": "tungban 通辦未能簽署聲明。請再試一次。",
        "en": "tungban could not sign the declaration. Please try again.",
    },
    "sign_err_document_mismatch": {
        "zh-HK": "tungban 通辦傳回的已簽署文件與本服務送出的聲明不符，因此不獲接受。",
        "en": "The signed document from tungban does not match the declaration this service sent, "
        "so it was not accepted.",
    },
    "sign_err_result_missing": {
        "zh-HK": "已簽署的文件已不再提供。請再簽署一次。",
        "en": "The signed document is no longer available. Please sign again.",
    },
    "btn_sign_again": {"zh-HK": "再次簽署", "en": "Sign again"},
    "btn_login_to_sign": {"zh-HK": "重新登入以簽署", "en": "Log in again to sign"},
    "btn_back_to_application": {"zh-HK": "返回申請", "en": "Back to the application"},
    # --- 填表通: the address from the Water Supplies Department (exchange gateway) ------
    "btn_fill_address_wsd": {
        "zh-HK": "從水務署取得我的地址",
        "en": "Fill my address from the Water Supplies Department",
    },
    "addr_fill_hint": {
        "zh-HK": "經 tungban 通辦的授權數據交換閘，取得你在水務署登記的地址。你會在手機上的 tungban 通辦 app 批准，"
        "地址只會使用一次。",
        "en": "Gets the address registered with the Water Supplies Department through tungban's Consented "
        "Data Exchange Gateway. You approve in the tungban app on your phone; the address is obtained once.",
    },
    "addr_supplied_by_wsd": {
        "zh-HK": "由水務署經授權數據交換閘提供",
        "en": "Supplied by the Water Supplies Department through the Consented Data Exchange Gateway",
    },
    "addr_heading": {"zh-HK": "請在通辦 app 批准", "en": "Approve in your tungban app"},
    "addr_intro": {
        "zh-HK": "運輸署（本服務）要求經授權數據交換閘，從水務署取得你登記的地址。只有你在 app 同意後，水務署才會提供。",
        "en": "The Transport Department (this service) asks for your address registered with the Water Supplies "
        "Department, through the Consented Data Exchange Gateway. The department provides it only once you agree in the app.",
    },
    "addr_steps_scan": {
        "zh-HK": "在電腦上：用手機上的 tungban 通辦 app 掃描此二維碼。在手機上：按「開啟 app」。",
        "en": "On a computer: scan this QR code with the tungban app on your phone. "
        "On your phone: press \u201cOpen the app\u201d.",
    },
    "addr_steps_check": {
        "zh-HK": "在 app 核對要求資料的部門、提供資料的部門及用途，然後以指紋、面容或螢幕鎖批准。",
        "en": "In the app, check who asks, who provides the data and why, then approve with your fingerprint, "
        "face or screen lock.",
    },
    "addr_qr_title": {"zh-HK": "以 tungban 通辦 app 掃描的二維碼", "en": "QR code to scan with the tungban app"},
    "addr_purpose": {"zh-HK": "用途", "en": "Purpose"},
    "addr_provider": {"zh-HK": "資料提供者", "en": "Provided by"},
    "addr_provider_name": {"zh-HK": "水務署", "en": "Water Supplies Department"},
    "addr_product": {"zh-HK": "資料", "en": "Data"},
    "addr_product_name": {"zh-HK": "登記地址（只使用一次）", "en": "Registered address (used once)"},
    "addr_waiting": {"zh-HK": "正在等待你在 app 批准……", "en": "Waiting for your approval in the app…"},
    "addr_problem": {
        "zh-HK": "暫時未能向授權數據交換閘查詢結果，會繼續嘗試。",
        "en": "Could not check with the exchange gateway just now; still trying.",
    },
    "btn_addr_cancel": {"zh-HK": "取消，自行填寫地址", "en": "Cancel and type my address"},
    "addr_pending_note": {
        "zh-HK": "你從水務署取得地址的要求正在等待你在 app 批准。",
        "en": "Your request for your address from the Water Supplies Department is waiting for your approval in the app.",
    },
    "addr_continue": {"zh-HK": "繼續", "en": "Continue"},
    "addr_err_declined": {
        "zh-HK": "你已在 app 拒絕提供地址，水務署沒有提供任何資料。請自行填寫住址。",
        "en": "You declined in the app, so the Water Supplies Department shared nothing. Please type your address.",
    },
    "addr_err_expired": {
        "zh-HK": "要求在你批准前已逾時，未有取得地址。你可以再試一次，或自行填寫住址。",
        "en": "The request expired before it was approved, so no address was obtained. Try again or type your address.",
    },
    "addr_err_revoked": {
        "zh-HK": "你已撤回同意，未有取得地址。請自行填寫住址。",
        "en": "You withdrew your consent, so no address was obtained. Please type your address.",
    },
    "addr_err_exhausted": {
        "zh-HK": "你的同意已經使用過。如需再次取得地址，請再試一次。",
        "en": "Your consent has already been used. Try again to obtain the address once more.",
    },
    "addr_err_no_record": {
        "zh-HK": "水務署沒有以你名義登記的地址。請自行填寫住址。",
        "en": "The Water Supplies Department has no address registered in your name. Please type your address.",
    },
    "addr_err_provider": {
        "zh-HK": "水務署暫時未能提供你的地址。請稍後再試，或自行填寫住址。",
        "en": "The Water Supplies Department could not provide your address just now. Try again later or type your address.",
    },
    "addr_err_unreachable": {
        "zh-HK": "暫時未能連接 tungban 通辦的授權數據交換閘。請稍後再試，或自行填寫住址。",
        "en": "Cannot reach tungban's Consented Data Exchange Gateway just now. Try again later or type your address.",
    },
    "addr_err_account_suspended": {
        "zh-HK": "你的 tungban 通辦帳戶已被暫停，未能取得地址。請自行填寫住址。",
        "en": "Your tungban account is suspended, so no address can be obtained. Please type your address.",
    },
    "addr_err_login_again": {
        "zh-HK": "請重新以 tungban 通辦登入，然後再試一次。",
        "en": "Please log in with tungban again, then try again.",
    },
    "addr_err_not_allowed": {
        "zh-HK": "本服務未獲授權經授權數據交換閘取得資料。請自行填寫住址。",
        "en": "This service is not authorised to obtain data through the exchange gateway. Please type your address.",
    },
    "addr_err_not_configured": {
        "zh-HK": "本示範服務未設定授權數據交換閘的金鑰（VL_CDEG_PRIVATE_JWK 或 VL_CLIENT_CONFIG 內的 cdeg_private_jwk）。",
        "en": "This demo service has no key for the exchange gateway (VL_CDEG_PRIVATE_JWK, or cdeg_private_jwk "
        "in the VL_CLIENT_CONFIG file).",
    },
    "addr_err_failed": {
        "zh-HK": "未能經授權數據交換閘取得你的地址。請再試一次，或自行填寫住址。",
        "en": "Your address could not be obtained through the exchange gateway. Try again or type your address.",
    },
    # --- errors -----------------------------------------------------------------
    "error_heading": {"zh-HK": "未能完成要求", "en": "We could not complete your request"},
    "error_code_label": {"zh-HK": "錯誤代碼", "en": "Error code"},
    "error_detail_label": {"zh-HK": "詳情", "en": "Details"},
    "btn_try_again": {"zh-HK": "再試一次", "en": "Try again"},
    "op_access_denied": {
        "zh-HK": "你已取消，或未有批准向本服務提供資料。你仍可自行填寫表格。",
        "en": "You cancelled, or did not approve sharing your data with this service. "
        "You can still fill in the form yourself.",
    },
    "op_login_required": {
        "zh-HK": "你需要先登入 tungban 通辦。",
        "en": "You need to log in to tungban first.",
    },
    "op_consent_required": {
        "zh-HK": "你需要先批准向本服務提供資料。",
        "en": "You need to approve sharing your data with this service first.",
    },
    "op_interaction_required": {
        "zh-HK": "tungban 通辦需要你操作才可繼續。",
        "en": "tungban needs you to take an action before continuing.",
    },
    "op_invalid_request": {
        "zh-HK": "tungban 通辦拒絕了本服務的登入要求（要求無效）。",
        "en": "tungban rejected this service's login request as invalid.",
    },
    "op_invalid_scope": {
        "zh-HK": "本服務要求的資料範圍不獲 tungban 通辦接受。",
        "en": "tungban did not accept the data this service asked for.",
    },
    "op_unauthorized_client": {
        "zh-HK": "本服務未獲 tungban 通辦授權使用此登入方式。",
        "en": "This service is not authorised by tungban for this kind of login.",
    },
    "op_server_error": {
        "zh-HK": "tungban 通辦發生錯誤，請稍後再試。",
        "en": "tungban had a problem. Please try again later.",
    },
    "op_temporarily_unavailable": {
        "zh-HK": "tungban 通辦暫時未能提供服務，請稍後再試。",
        "en": "tungban is temporarily unavailable. Please try again later.",
    },
    "op_other": {
        "zh-HK": "tungban 通辦回覆了錯誤，登入未能完成。",
        "en": "tungban returned an error and the login could not be completed.",
    },
    "err_state": {
        "zh-HK": "登入要求已逾時或無效（你的瀏覽器可能封鎖了 cookie）。請再試一次。",
        "en": "The login request has expired or is not valid (your browser may be blocking cookies). Please try again.",
    },
    "err_token": {
        "zh-HK": "未能向 tungban 通辦換取存取權杖。",
        "en": "Could not exchange the authorisation code with tungban.",
    },
    "err_id_token": {
        "zh-HK": "tungban 通辦傳回的身份權杖（ID token）無效。",
        "en": "The ID token returned by tungban is not valid.",
    },
    "err_userinfo": {
        "zh-HK": "未能從 tungban 通辦取得你的資料。",
        "en": "Could not fetch your data from tungban.",
    },
    "err_max_age": {
        "zh-HK": "你的登入時間早於本服務容許的時限，請重新登入。",
        "en": "Your login is older than this service allows. Please log in again.",
    },
    "err_unreachable": {
        "zh-HK": "未能連接 tungban 通辦（{issuer}）。請稍後再試。",
        "en": "Cannot reach tungban at {issuer}. Please try again later.",
    },
    "err_discovery": {
        "zh-HK": "tungban 通辦的設定資料（discovery）不正確：{problem}",
        "en": "tungban's discovery document is not valid: {problem}",
    },
    "err_config": {
        "zh-HK": "本示範服務未設定用戶端密碼。請設定環境變數 VL_CLIENT_SECRET，"
        "或以 VL_CLIENT_CONFIG 指向一個載有 client_id 及 client_secret 的 JSON 檔案。",
        "en": "This demo service has no client secret. Set the VL_CLIENT_SECRET "
        "environment variable, or point VL_CLIENT_CONFIG at a JSON file with "
        "client_id and client_secret.",
    },
    "err_csrf": {
        "zh-HK": "表格已逾時，請重新提交。",
        "en": "The form has expired. Please submit it again.",
    },
    "err_not_found": {"zh-HK": "找不到此頁。", "en": "Page not found."},
    "err_unexpected": {
        "zh-HK": "發生未預期的錯誤，請稍後再試。",
        "en": "Something unexpected went wrong. Please try again later.",
    },
    # --- plain words for residents (issue 16) ------------------------------------------
    "login_summary_plus": {
        "zh-HK": "已用 tungban 通辦登入，身份已在登記櫃位親身核實（通辦+帳戶）。",
        "en": "Signed in with tungban 通辦, identity checked in person at a registration counter (tungban+ account).",
    },
    "login_summary_basic": {
        "zh-HK": "已用 tungban 通辦登入，基本帳戶（非通辦+）：身份未經親身核實。",
        "en": "Signed in with tungban 通辦, basic account (not tungban+): identity not checked in person.",
    },
    "login_summary_other": {"zh-HK": "已用 tungban 通辦登入。", "en": "Signed in with tungban 通辦."},
    "amr_words_two_step": {
        "zh-HK": "你以手機上的 tungban 通辦 app，再加指紋、面容或螢幕鎖確認（兩步驗證）。",
        "en": "You confirmed with the tungban 通辦 app on your phone and your fingerprint, face or screen lock "
        "(two-step check).",
    },
    "amr_words_app": {
        "zh-HK": "你以手機上的 tungban 通辦 app 確認。",
        "en": "You confirmed with the tungban 通辦 app on your phone.",
    },
    "amr_words_other": {"zh-HK": "你已確認登入。", "en": "You confirmed the login."},
    "technical_details": {"zh-HK": "技術資料", "en": "Technical details"},
    "sign_compare": {
        "zh-HK": "請確認 tungban 通辦 app 顯示相同的核對碼：",
        "en": "Check that the tungban 通辦 app shows the same comparison code:",
    },
    "what_to_do": {"zh-HK": "你可以怎樣做", "en": "What you can do"},
    "next_op_access_denied": {
        "zh-HK": "如想用 tungban 通辦填表，請按「再試一次」並在 app 內批准；你亦可按「自行填寫表格」。",
        "en": "To fill the form with tungban 通辦, choose “Try again” and approve in the app; "
        "or choose “Fill in the form yourself”.",
    },
    "next_op_login_required": {
        "zh-HK": "請按「再試一次」，並在 tungban 通辦 app 內批准登入。",
        "en": "Choose “Try again” and approve the login in the tungban 通辦 app.",
    },
    "next_op_consent_required": {
        "zh-HK": "請按「再試一次」，並在 tungban 通辦 app 內批准提供資料。",
        "en": "Choose “Try again” and approve sharing your details in the tungban 通辦 app.",
    },
    "next_op_interaction_required": {
        "zh-HK": "請按「再試一次」，並在 tungban 通辦 app 內完成所需步驟。",
        "en": "Choose “Try again” and finish the step the tungban 通辦 app asks for.",
    },
    "next_op_invalid_request": {
        "zh-HK": "這是本服務的問題，你無法自行修正。請稍後再試，或自行填寫表格；如問題持續，請致電本署查詢熱線並提供下方的錯誤代碼。",
        "en": "This is a fault of this service that you cannot fix. Try again later or fill in the form yourself; "
        "if it keeps happening, call our enquiry line and give the error code below.",
    },
    "next_op_invalid_scope": {
        "zh-HK": "這是本服務的問題，你無法自行修正。請自行填寫表格；如問題持續，請致電本署查詢熱線並提供下方的錯誤代碼。",
        "en": "This is a fault of this service that you cannot fix. Fill in the form yourself; "
        "if it keeps happening, call our enquiry line and give the error code below.",
    },
    "next_op_unauthorized_client": {
        "zh-HK": "這是本服務的問題，你無法自行修正。請自行填寫表格；如問題持續，請致電本署查詢熱線並提供下方的錯誤代碼。",
        "en": "This is a fault of this service that you cannot fix. Fill in the form yourself; "
        "if it keeps happening, call our enquiry line and give the error code below.",
    },
    "next_op_server_error": {
        "zh-HK": "請等候數分鐘後再試，或自行填寫表格。",
        "en": "Wait a few minutes and try again, or fill in the form yourself.",
    },
    "next_op_temporarily_unavailable": {
        "zh-HK": "請等候數分鐘後再試，或自行填寫表格。",
        "en": "Wait a few minutes and try again, or fill in the form yourself.",
    },
    "next_op_other": {
        "zh-HK": "請再試一次，或自行填寫表格；如問題持續，請致電本署查詢熱線並提供下方的錯誤代碼。",
        "en": "Try again, or fill in the form yourself; if it keeps happening, call our enquiry line and give "
        "the error code below.",
    },
    "plus_what_title": {"zh-HK": "甚麼是通辦+帳戶？", "en": "What is a tungban+ account?"},
    "plus_what": {
        "zh-HK": "通辦+帳戶表示職員已在登記櫃位親身核實你的身份。你需要通辦+帳戶才可以數碼簽署文件，"
        "其效力等同親筆簽名。你現時的帳戶是通辦基本帳戶。",
        "en": "A tungban+ account means an officer has checked your identity in person at a registration counter. "
        "You need it to sign documents digitally, with the same effect as your handwritten signature. "
        "Your account is a basic tungban account.",
    },
    "plus_how_title": {"zh-HK": "如何升級", "en": "How to upgrade"},
    "plus_how_visit": {
        "zh-HK": "親臨任何一個 tungban 通辦登記櫃位。升級免費，只需數分鐘。",
        "en": "Visit any tungban 通辦 registration counter. Upgrading is free and takes a few minutes.",
    },
    "plus_how_bring": {
        "zh-HK": "帶同你的香港身份證，以及已安裝 tungban 通辦 app 的手機。",
        "en": "Bring your Hong Kong identity card and the phone with the tungban 通辦 app.",
    },
    "plus_how_after": {
        "zh-HK": "升級後，按下方按鈕重新登入，便可簽署這份聲明。你的申請已經提交，不會遺失。",
        "en": "After upgrading, log in again with the button below to sign this declaration. "
        "Your application is already submitted and is kept.",
    },
    "plus_other_ways": {
        "zh-HK": "你亦可以列印聲明，親筆簽署後交回本署。",
        "en": "You can also print the declaration, sign it by hand and return it to us.",
    },
    "btn_login_again_after_upgrade": {
        "zh-HK": "已升級？重新登入以簽署",
        "en": "Upgraded? Log in again to sign",
    },
}


def normalise_language(value: str | None) -> str | None:
    """Map a language tag such as ``"zh-hk"`` or ``"en-GB"`` to a supported one, else None."""
    if not value:
        return None
    return _ALIASES.get(value.strip().lower().replace("_", "-"))


def browser_language(accept_language: Iterable[str]) -> str | None:
    """The first supported language among the browser's, in its order of preference (the
    tags of an ``Accept-Language`` header, RFC 9110 §12.5.4, best first), matching on the
    primary subtag when the full tag is unknown (``en-AU`` → ``en``); else None.
    Source: issue 16, polish16 item 6."""
    for tag in accept_language:
        found = normalise_language(tag) or normalise_language((tag or "").split("-")[0])
        if found:
            return found
    return None


def other_language(lang: str) -> str:
    """Return the language the switch link offers when the page is in ``lang``."""
    return "en" if lang == "zh-HK" else "zh-HK"


def translate(key: str, lang: str, **params: object) -> str:
    """Return the text for ``key`` in ``lang``, formatted with ``params``.

    Falls back to the default language, then to the key itself, so a missing
    string never breaks a page.
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**params) if params else text


def both(key: str, first: str = DEFAULT_LANGUAGE, **params: object) -> list[tuple[str, str]]:
    """Return ``[(lang, text), ...]`` for every language, ``first`` language first."""
    order: Iterable[str] = [first] + [code for code in LANGUAGES if code != first]
    return [(code, translate(key, code, **params)) for code in order]
