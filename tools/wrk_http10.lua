-- wrk script for tools/bench's "http10" points: every request HTTP/1.0 with
-- Connection: keep-alive, as ab -k sends them (wrk itself only speaks 1.1).
local req

init = function(args)
  req = "GET " .. wrk.path .. " HTTP/1.0\r\nHost: " .. wrk.host ..
        "\r\nConnection: keep-alive\r\n\r\n"
end

request = function()
  return req
end
