-- certcheck.lua - scenario d of tests/bench/e2e.sh: the three checks of
-- certspoa done by a Lua action inside HAProxy, the way gates were written
-- before certspoa. Loaded with "lua-load"; the thumbprint list (one SHA-256
-- hex per line, '#' comments) comes from $CERTCHECK_LIST.
--
--   http-request lua.certcheck
--   http-request deny ... unless { var(txn.lua.verdict) -m str allow }

local allowed = {}
local count = 0
local path = os.getenv("CERTCHECK_LIST")

if path then
    for line in io.lines(path) do
        local hex = line:match("^%s*(%x+)%s*$") or line:match("^%s*(%x+)%s*#")
        if hex and #hex == 64 then
            allowed[hex:lower()] = true
            count = count + 1
        end
    end
end
core.log(core.info, "certcheck: " .. count .. " thumbprints from " .. tostring(path))

local function verdict(txn, v, code)
    txn:set_var("txn.lua.verdict", v)
    txn:set_var("txn.lua.code", code)
end

core.register_action("certcheck", { "http-req" }, function(txn)
    local f, c = txn.f, txn.c

    -- 1. presence
    local der = f:ssl_c_der()
    if not f:ssl_c_used() or not der or #der == 0 then
        return verdict(txn, "deny", "cert_missing")
    end
    -- 2. verification (HAProxy's, against the bind line's ca-file)
    if f:ssl_c_verify() ~= 0 then
        return verdict(txn, "deny", "cert_unverified")
    end
    -- 3. thumbprint: SHA-256 of the DER, lowercase hex
    if not allowed[c:hex(c:sha2(der, 256)):lower()] then
        return verdict(txn, "deny", "cert_untrusted")
    end
    return verdict(txn, "allow", "ok")
end)
