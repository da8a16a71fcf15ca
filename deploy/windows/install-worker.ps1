#Requires -Version 5.1
<#
.SYNOPSIS
  Installs a ratchet worker on Windows as a scheduled task of the current user: it starts at
  logon, runs at below-normal priority (training included: Windows children inherit it),
  restarts after a failure, never stops for a time limit, and pauses on battery power.

.DESCRIPTION
  Needs Node.js >= 20.19 and git on PATH, Python with PyTorch (CUDA for NVIDIA cards), and a
  ratchet checkout with its workspace installed (`pnpm install`). The token is stored in
  %LOCALAPPDATA%\ratchet\worker.token, readable by this user only; the task runs
  %LOCALAPPDATA%\ratchet\run-worker.ps1, which logs to worker.log beside it.

  A task of the logged-in user, not a service: a service runs in session 0 under a service
  account, away from the user's GPU driver settings and Python, and node.exe is not a
  service executable. Remove with -Uninstall.

.EXAMPLE
  .\deploy\windows\install-worker.ps1 -Coordinator https://ratchet.example.org -Token rt_worker_...
.EXAMPLE
  .\deploy\windows\install-worker.ps1 -Uninstall
#>
[CmdletBinding(DefaultParameterSetName = 'Install')]
param(
  [Parameter(Mandatory = $true, ParameterSetName = 'Install')]
  [string] $Coordinator,
  [Parameter(Mandatory = $true, ParameterSetName = 'Install')]
  [string] $Token,
  [Parameter(ParameterSetName = 'Install')]
  [string] $RatchetDir = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path,
  [Parameter(ParameterSetName = 'Install')]
  [string] $Name = "$env:COMPUTERNAME-worker",
  [Parameter(ParameterSetName = 'Install')]
  [string] $Python = '',
  [Parameter(ParameterSetName = 'Install')]
  [switch] $ProposeWithOllama,
  [Parameter(Mandatory = $true, ParameterSetName = 'Uninstall')]
  [switch] $Uninstall
)

$ErrorActionPreference = 'Stop'
$TaskName = 'ratchet-worker'
$StateDir = Join-Path $env:LOCALAPPDATA 'ratchet'

if ($Uninstall) {
  Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
  Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
  Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $StateDir 'worker.token')
  Write-Host "ratchet: removed the scheduled task '$TaskName' and the stored token."
  return
}

# Refusals exit 2 (as the CLI does); Write-Error would stop the script first, with exit 1.
function Fail([string] $Message) {
  [Console]::Error.WriteLine("ratchet: $Message")
  exit 2
}

# ---- checks: refuse early, with what to do
if ($Token -notmatch '^rt_worker_[A-Za-z0-9_-]+$') {
  Fail 'the token must be a worker token (rt_worker_...): ratchet token create --role worker'
}
if ($Coordinator -notmatch '^https?://') { Fail "-Coordinator must be an http(s) URL, got '$Coordinator'" }
if ($Coordinator -match '^http://' -and $Coordinator -notmatch '^http://(localhost|127\.0\.0\.1)') {
  Write-Warning 'ratchet: the coordinator URL is plain http; over the internet use https (docs/deploy.md).'
}
$node = Get-Command node.exe -ErrorAction SilentlyContinue
if (-not $node) { Fail 'node.exe is not on PATH: install Node.js 20 LTS (>= 20.19) from https://nodejs.org' }
$nodeVersion = & $node.Source -p 'process.versions.node'
$parts = $nodeVersion.Split('.') | ForEach-Object { [int]$_ }
if ($parts[0] -lt 20 -or ($parts[0] -eq 20 -and $parts[1] -lt 19)) { Fail "Node.js >= 20.19 is required (found $nodeVersion)" }
if (-not (Get-Command git.exe -ErrorAction SilentlyContinue)) { Fail 'git.exe is not on PATH: install Git for Windows' }
$loader = Join-Path $RatchetDir 'node_modules\tsx\dist\loader.mjs'
$main = Join-Path $RatchetDir 'cli\src\main.ts'
if (-not (Test-Path $loader) -or -not (Test-Path $main)) {
  Fail "no installed ratchet checkout in $RatchetDir (run: pnpm install --frozen-lockfile there)"
}

# ---- the token, readable by this user only
New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
$tokenFile = Join-Path $StateDir 'worker.token'
Set-Content -Path $tokenFile -Value $Token -NoNewline -Encoding ascii
$me = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
& icacls.exe $tokenFile /inheritance:r /grant:r "${me}:(R,W)" | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "could not restrict access to $tokenFile" }

# ---- the script the task runs
$workerArgs = @('worker', '--coordinator', $Coordinator, '--name', $Name, '--low-priority')
if ($Python) { $workerArgs += @('--python', $Python) }
if ($ProposeWithOllama) { $workerArgs += '--propose-with-ollama' }
$quotedArgs = ($workerArgs | ForEach-Object { "'" + ($_ -replace "'", "''") + "'" }) -join ' '
$runner = Join-Path $StateDir 'run-worker.ps1'
$runnerText = @"
# Written by install-worker.ps1: runs the ratchet worker at below-normal priority.
# 'Continue': Windows PowerShell turns a redirected native stderr line into an error record,
# which 'Stop' would make fatal, and the worker logs to stderr.
`$ErrorActionPreference = 'Continue'
[System.Diagnostics.Process]::GetCurrentProcess().PriorityClass = 'BelowNormal'
`$env:RATCHET_TOKEN = (Get-Content -Raw -Path '$tokenFile').Trim()
`$log = '$(Join-Path $StateDir 'worker.log')'
& '$($node.Source)' --import 'file:///$($loader -replace '\\', '/')' '$main' $quotedArgs *>> `$log
exit `$LASTEXITCODE
"@
Set-Content -Path $runner -Value $runnerText -Encoding utf8

# ---- the scheduled task: at logon, below normal (7), restart on failure, no time limit;
# the defaults keep it off battery power (a volunteer's laptop is not a training machine)
$action = New-ScheduledTaskAction -Execute 'powershell.exe' `
  -Argument "-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -File `"$runner`"" `
  -WorkingDirectory $RatchetDir
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $me
$settings = New-ScheduledTaskSettingsSet -Priority 7 -ExecutionTimeLimit ([TimeSpan]::Zero) `
  -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -MultipleInstances IgnoreNew `
  -StartWhenAvailable
$principal = New-ScheduledTaskPrincipal -UserId $me -LogonType Interactive -RunLevel Limited
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
  -Principal $principal -Description 'ratchet worker (distributed autoresearch), below-normal priority' -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName
Write-Host "ratchet: installed the scheduled task '$TaskName' (starts at logon, below-normal priority)."
Write-Host "ratchet: log: $(Join-Path $StateDir 'worker.log'); remove with: $PSCommandPath -Uninstall"
