-- wrk script for tools/bench's "browser" points: keep-alive connections
-- sending, in turn, what browsers and tools send for a hot asset: a GET
-- with Accept-Encoding, a revalidation by If-None-Match (the file's ETag),
-- one by If-Modified-Since (its Last-Modified), and an HTTP/1.0 keep-alive
-- GET (what ab -k sends). No HEAD: wrk would wait for the body its
-- Content-Length announces. The ETag and Last-Modified are the server's
-- own, passed as arguments (tools/bench asks the server for them).
local reqs, i = {}, 0

init = function(args)
  local etag, lm = args[1], args[2]
  local line = "GET " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.host ..
               "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\n"
  reqs[1] = line .. "Accept-Encoding: gzip, deflate, br, zstd\r\n\r\n"
  reqs[2] = line .. "If-None-Match: " .. etag .. "\r\n\r\n"
  reqs[3] = line .. "If-Modified-Since: " .. lm .. "\r\n\r\n"
  reqs[4] = "GET " .. wrk.path .. " HTTP/1.0\r\nHost: " .. wrk.host ..
            "\r\nConnection: keep-alive\r\n\r\n"
end

request = function()
  i = i % #reqs + 1
  return reqs[i]
end
