-- End-to-end test of `canon lsp` through a real neovim (run by
-- tests/nvim_e2e.rs as `nvim --headless --clean -n -c 'luafile <this file>'`).
--
-- Environment:
--   CANON_BIN         the canon binary
--   CANON_PKG         the package directory (types.canon, handler.canon, bad.canon)
--   CANON_REPORT      where to write the JSON report
--   CANON_TIMEOUT_MS  how long one step may wait (default 20000)
--
-- It sets neovim up as docs/editors.md says (filetype detection for *.canon,
-- a FileType autocmd that starts the client), opens the files, and checks
-- diagnostics, hover and completion. The report lists every check and every
-- failure; the exit status is 0 when all checks passed and 1 otherwise
-- (`cquit 1`). A watchdog ends neovim with status 2 if anything hangs.

local bin = assert(os.getenv('CANON_BIN'), 'CANON_BIN is not set')
local root = assert(os.getenv('CANON_PKG'), 'CANON_PKG is not set')
local report_path = assert(os.getenv('CANON_REPORT'), 'CANON_REPORT is not set')
local step_ms = tonumber(os.getenv('CANON_TIMEOUT_MS') or '') or 20000

local v = vim.version()
local report = {
  nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch),
  checks = {},
  failures = {},
  diagnostics = {},
  hover = {},
  completion = {},
  stderr = {},
}

local function write_report()
  local f = io.open(report_path, 'w')
  if f then
    f:write(vim.fn.json_encode(report))
    f:close()
  end
end

local finished = false
local function finish()
  if finished then
    return
  end
  finished = true
  write_report()
  if #report.failures > 0 then
    vim.cmd('cquit 1')
  else
    vim.cmd('qall!')
  end
end

--- Records a check; a false `ok` is a failure.
local function check(ok, what, detail)
  table.insert(report.checks, what)
  if not ok then
    local line = what
    if detail ~= nil then
      line = line .. ': ' .. (type(detail) == 'string' and detail or vim.inspect(detail))
    end
    table.insert(report.failures, line)
  end
  return ok
end

-- Never hang: after a few steps' worth of time, stop with status 2.
local watchdog = (vim.uv or vim.loop).new_timer()
watchdog:start(step_ms * 4, 0, vim.schedule_wrap(function()
  table.insert(report.failures, 'watchdog: the test did not finish in ' .. (step_ms * 4) .. ' ms')
  finished = true
  write_report()
  vim.cmd('cquit 2')
end))

-- ------------------------------------------------------------------ set-up
-- The set-up of docs/editors.md, with the fallbacks it describes for 0.7
-- (Debian 12's neovim): filetype.lua is opt-in there and vim.lsp.start is
-- 0.8+.

vim.filetype.add({ extension = { canon = 'canon' } })
if vim.fn.has('nvim-0.8') == 0 then
  vim.cmd('autocmd BufRead,BufNewFile *.canon setfiletype canon')
end

-- The server's raw publishDiagnostics, by URI, to check what went over the wire.
local published = {}
local function on_publish(err, result, ctx, config)
  if result and result.uri then
    published[result.uri] = result.diagnostics
  end
  local default = vim.lsp.handlers['textDocument/publishDiagnostics']
    or vim.lsp.diagnostic.on_publish_diagnostics
  return default(err, result, ctx, config)
end

local client_id
local function start_canon(bufnr)
  local config = {
    name = 'canon',
    cmd = { bin, 'lsp' },
    root_dir = root,
    handlers = { ['textDocument/publishDiagnostics'] = on_publish },
    on_exit = function(code, signal)
      if not finished then
        table.insert(report.stderr, string.format('canon lsp exited: code %s, signal %s', code, signal))
      end
    end,
  }
  if vim.lsp.start then
    client_id = vim.lsp.start(config, { bufnr = bufnr })
  else
    client_id = client_id or vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
end

vim.api.nvim_create_autocmd('FileType', {
  pattern = 'canon',
  callback = function(args)
    start_canon(args.buf)
  end,
})

-- ------------------------------------------------------------------ helpers

local function attached(bufnr)
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ bufnr = bufnr, name = 'canon' }) > 0
  end
  for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if c.name == 'canon' then
      return true
    end
  end
  return false
end

local function open(name)
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. name))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo[bufnr].filetype == 'canon', name .. ' has filetype canon', vim.bo[bufnr].filetype)
  local ok = vim.wait(step_ms, function()
    return attached(bufnr)
  end, 20)
  check(ok, 'the canon client attaches to ' .. name)
  return bufnr
end

--- The 0-based (line, UTF-16 column) of the `nth` `needle` in the buffer, plus `shift` columns.
local function position_of(bufnr, needle, shift)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  for i, line in ipairs(lines) do
    local col = string.find(line, needle, 1, true)
    if col then
      return { line = i - 1, character = col - 1 + (shift or 0) }
    end
  end
  error('not in the buffer: ' .. needle)
end

local function request(bufnr, method, params)
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, step_ms)
  if not responses then
    return nil, 'no response to ' .. method .. ': ' .. tostring(err)
  end
  for _, r in pairs(responses) do
    local e = r.err or r.error -- `error` before neovim 0.10
    if e then
      return nil, method .. ' failed: ' .. vim.inspect(e)
    end
    if r.result ~= nil then
      return r.result
    end
  end
  return nil, method .. ': empty result'
end

local function hover_text(result)
  local contents = result and result.contents
  if type(contents) == 'string' then
    return contents
  elseif type(contents) == 'table' and contents.value then
    return contents.value
  elseif type(contents) == 'table' then
    local parts = {}
    for _, c in ipairs(contents) do
      table.insert(parts, type(c) == 'string' and c or c.value or '')
    end
    return table.concat(parts, '\n')
  end
  return ''
end

local function hover(bufnr, needle, expected)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = position_of(bufnr, needle),
  }
  local result, err = request(bufnr, 'textDocument/hover', params)
  local text = hover_text(result)
  report.hover[needle] = text
  if check(result ~= nil, 'hover on `' .. needle .. '` answers', err) then
    check(string.find(text, expected, 1, true) ~= nil, 'hover on `' .. needle .. '` shows ' .. expected, text)
  end
end

-- ------------------------------------------------------------------ checks

local function main()
  -- Diagnostics: bad.canon returns Text where it declares Decimal (E0201).
  local bad = open('bad.canon')
  local got = vim.wait(step_ms, function()
    return #vim.diagnostic.get(bad) > 0
  end, 20)
  check(got, 'diagnostics arrive for bad.canon')
  for _, d in ipairs(vim.diagnostic.get(bad)) do
    table.insert(report.diagnostics, {
      code = d.code,
      message = d.message,
      severity = d.severity,
      lnum = d.lnum,
      col = d.col,
    })
  end
  local want = 'expected `Decimal`, found `Text`'
  local found
  for _, d in ipairs(vim.diagnostic.get(bad)) do
    if d.code == 'E0201' then
      found = d
    end
  end
  if check(found ~= nil, 'bad.canon has an E0201 diagnostic', report.diagnostics) then
    check(string.find(found.message, want, 1, true) ~= nil, 'the E0201 message says ' .. want, found.message)
    check(found.severity == vim.diagnostic.severity.ERROR, 'E0201 is an error', found.severity)
    check(found.lnum == 1 and found.col == 43, 'E0201 is at line 2, column 44 (p.code)',
      { lnum = found.lnum, col = found.col })
  end
  local raw = published[vim.uri_from_bufnr(bad)] or {}
  check(#raw == 1 and raw[1].code == 'E0201', 'the server published exactly one E0201 for bad.canon', raw)

  -- Hover and completion in the handler.
  local handler = open('handler.canon')
  vim.wait(step_ms, function()
    return published[vim.uri_from_bufnr(handler)] ~= nil
  end, 20)
  check(#vim.diagnostic.get(handler) == 0, 'handler.canon has no diagnostics', vim.diagnostic.get(handler))

  hover(handler, 'worked', 'Decimal') -- a `let`: its type
  hover(handler, 'project.hours', 'Project') -- a field access: the field's type
  hover(handler, 'TimeLogged', 'Time logged against a project') -- an event: its /// doc

  -- Completion after `t.project.`, on a line typed into the buffer.
  local line = position_of(handler, 'emit ledger').line
  vim.api.nvim_buf_set_lines(handler, line, line, false, { '  let c = t.project.' })
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(handler) },
    position = { line = line, character = #'  let c = t.project.' },
    context = { triggerKind = 2, triggerCharacter = '.' },
  }
  local result, err = request(handler, 'textDocument/completion', params)
  local items = result and (result.items or result) or {}
  local labels = {}
  for _, item in ipairs(items) do
    table.insert(labels, item.label)
  end
  table.sort(labels)
  report.completion = labels
  if check(result ~= nil, 'completion after `t.project.` answers', err) then
    check(vim.deep_equal(labels, { 'code', 'hours', 'rate' }), 'completion after `t.project.` offers the fields of Project', labels)
  end
end

local ok, err = xpcall(main, debug.traceback)
check(ok, 'the script ran to its end', err)
finish()
