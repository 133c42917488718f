# ecs-reboot-diagnosis Windows guest collector. Read-only. Output format: ENVELOPE.md. ASCII only.
# PowerShell 2.0+ (Windows Server 2008 R2 and later).
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$CollectorVersion = '1.1.0'
$Nonce = @'
{{nonce}}
'@
$Since = @'
{{since_days}}
'@
$Nonce = $Nonce.Trim()
$Since = $Since.Trim()
$Header = "ECS_DIAG_ENVELOPE schema_version=1 collector=windows version=$CollectorVersion"
$bad = @()
if ($Nonce -cnotmatch '^[0-9a-f]{32}$') { $bad += 'nonce' }
if ($Since -notmatch '^[1-9][0-9]{0,2}$' -or [int]$Since -gt 365) { $bad += 'since_days' }
if ($bad.Count -gt 0) {
    if ($bad -contains 'nonce') { $Nonce = 'invalid' }
    Write-Output ("$Header nonce=$Nonce error=bad_parameter:" + ($bad -join ','))
    exit 2
}
$Inv = [Globalization.CultureInfo]::InvariantCulture
$Epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
$Now = (Get-Date).ToUniversalTime()
$Start = (Get-Date).AddDays(-[int]$Since)
$script:Used = 0
$script:Sections = 0

function Clean([object]$Value, [int]$Max) {
    if ($null -eq $Value) { return '' }
    $s = ([string]$Value) -replace '[\r\n\t]+', ' ' -replace '[^\x20-\x7E]', '?'
    $s = $s.Replace($Nonce, '[nonce]').Trim()
    if ($s.Length -gt $Max) { $s = $s.Substring(0, $Max) }
    return $s
}

function Utc([object]$Time) {
    if ($null -eq $Time) { return '' }
    if ($Time -is [string]) { $Time = [Management.ManagementDateTimeConverter]::ToDateTime($Time) }
    return ([datetime]$Time).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Inv)
}

function Get-Wmi([string]$Class, [string]$Filter) {
    if (Get-Command Get-CimInstance -ErrorAction SilentlyContinue) {
        if ($Filter) { return @(Get-CimInstance -ClassName $Class -Filter $Filter) }
        return @(Get-CimInstance -ClassName $Class)
    }
    if ($Filter) { return @(Get-WmiObject -Class $Class -Filter $Filter) }
    return @(Get-WmiObject -Class $Class)
}

function Prop([object]$Object, [string]$Name) {
    if ($null -eq $Object) { return $null }
    $p = $Object.PSObject.Properties[$Name]
    if ($null -eq $p) { return $null }
    return $p.Value
}

# Emit NAME STATUS NOTE BUDGET LINES TRUNCATED: one section, sanitised and bounded.
function Emit([string]$Name, [string]$Status, [string]$Note, [int]$Budget, [object[]]$Lines, [bool]$Truncated) {
    $room = 19200 - $script:Used
    if ($Budget -gt $room) { $Budget = $room }
    Write-Output "=====$Nonce SECTION $Name====="
    $u = 0
    foreach ($l in $Lines) {
        $t = ([string]$l) -replace '[^\x09\x20-\x7E]', '?'
        $t = $t.Replace($Nonce, '[nonce]')
        if ($t.Length -gt 1000) { $t = $t.Substring(0, 1000) }
        if ($u + $t.Length + 2 -gt $Budget) { $Truncated = $true; break }
        Write-Output $t
        $u += $t.Length + 2
    }
    $Note = Clean $Note 160
    if (-not $Note) { $Note = '-' }
    $Note = $Note.TrimEnd('=')
    Write-Output ("=====$Nonce END $Name status=$Status truncated=" + [int]$Truncated + " note=$Note=====")
    $script:Used += $u + 2 * $Name.Length + $Note.Length + 140
    $script:Sections += 1
}

function Event-Line([object]$E) {
    $f = @('time=' + (Utc $E.TimeCreated), 'id=' + $E.Id, 'provider=' + (Clean $E.ProviderName 80), 'level=' + $E.Level)
    # Kernel-Power 41 keeps LongPowerButtonPressDetected in its 16th insertion string
    $max = 10
    if ($E.Id -eq 41) { $max = 16 }
    $i = 0
    foreach ($p in @($E.Properties)) {
        if ($i -ge $max) { break }
        $f += ('p' + $i + '=' + (Clean $p.Value 120))
        $i += 1
    }
    $m = ''
    try { $m = [string]$E.Message } catch { $m = '' }
    if ($m) { $m = ($m -split "`n")[0] }
    $f += ('msg=' + (Clean $m 160))
    return ($f -join "`t")
}

# Events LOG IDS PROVIDERS MAX: (status, note, lines) of the newest matching events in the window.
function Events([string]$Log, [int[]]$Ids, [string]$Providers, [int]$Max) {
    $lines = @()
    try {
        $found = @(Get-WinEvent -FilterHashtable @{ LogName = $Log; Id = $Ids; StartTime = $Start } -MaxEvents 400 -ErrorAction Stop)
    } catch {
        if ($_.FullyQualifiedErrorId -match 'NoMatchingEventsFound') { return @('ok', 'no events in window', @('#count=0')) }
        return @('error', (Clean $_.Exception.Message 120), @())
    }
    $kept = @($found | Where-Object { $_.ProviderName -match $Providers })
    $lines += ('#count=' + $kept.Count)
    foreach ($e in ($kept | Select-Object -First $Max)) { $lines += (Event-Line $e) }
    return @('ok', '', $lines)
}

Write-Output "$Header nonce=$Nonce"

$offset = [TimeZone]::CurrentTimeZone.GetUtcOffset((Get-Date))
$sign = '+'
if ($offset.Ticks -lt 0) { $sign = '-' }
$lines = @(
    ('collected_at=' + [int64]($Now - $Epoch).TotalSeconds),
    ('tz=' + $sign + ([Math]::Abs($offset.Hours)).ToString('00') + ([Math]::Abs($offset.Minutes)).ToString('00')),
    "since_days=$Since",
    ('ps_version=' + $PSVersionTable.PSVersion.ToString())
)
Emit 'meta' 'ok' '' 400 $lines $false

$lines = @(); $st = 'ok'; $note = ''
try {
    $cv = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $os = (Get-Wmi 'Win32_OperatingSystem' '')[0]
    $name = Prop $cv 'ProductName'
    if (-not $name) { $name = $os.Caption }
    $lines += ('product_name=' + (Clean $name 120))
    $lines += ('version=' + $os.Version)
    $lines += ('build=' + (Prop $cv 'CurrentBuild') + '.' + (Prop $cv 'UBR'))
    $boot = $os.LastBootUpTime
    if ($boot -is [string]) { $boot = [Management.ManagementDateTimeConverter]::ToDateTime($boot) }
    $lines += ('last_boot_utc=' + (Utc $boot))
    $lines += ('uptime_seconds=' + [int64]($Now - ([datetime]$boot).ToUniversalTime()).TotalSeconds)
    $lines += ('total_memory_mb=' + [int64]($os.TotalVisibleMemorySize / 1024))
} catch { $st = 'error'; $note = $_.Exception.Message }
Emit 'os' $st $note 700 $lines $false

# volmgr 45/46/49/161: the crash dump could not be set up or written
$r = Events 'System' @(41, 1074, 6005, 6006, 6008, 1001, 45, 46, 49, 161) 'Kernel-Power|User32|EventLog|WER-SystemErrorReporting|^BugCheck$|^volmgr$' 40
Emit 'events_system' $r[0] $r[1] 7600 $r[2] $false

$r = Events 'Application' @(1000, 1001) '^Application Error$|^Windows Error Reporting$' 20
Emit 'events_application' $r[0] $r[1] 3800 $r[2] $false

$lines = @(); $st = 'ok'; $note = ''; $dumpFile = ''; $miniDir = ''
try {
    $cc = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl'
    foreach ($n in @('CrashDumpEnabled', 'DumpFile', 'MinidumpDir', 'AutoReboot', 'Overwrite', 'AlwaysKeepMemoryDump', 'DedicatedDumpFile')) {
        $v = Prop $cc $n
        if ($null -ne $v) {
            if ($v -is [string]) { $v = [Environment]::ExpandEnvironmentVariables($v) }
            $lines += ($n + '=' + (Clean $v 200))
        }
    }
    $dumpFile = [Environment]::ExpandEnvironmentVariables([string](Prop $cc 'DumpFile'))
    $miniDir = [Environment]::ExpandEnvironmentVariables([string](Prop $cc 'MinidumpDir'))
} catch { $st = 'error'; $note = $_.Exception.Message }
Emit 'crash_control' $st $note 600 $lines $false

$lines = @(); $st = 'ok'; $note = ''
try {
    $cs = (Get-Wmi 'Win32_ComputerSystem' '')[0]
    $lines += ('automatic_managed=' + $cs.AutomaticManagedPagefile)
    $usage = @(Get-Wmi 'Win32_PageFileUsage' '')
    $lines += ('count=' + $usage.Count)
    foreach ($p in $usage) {
        $lines += (('name=' + (Clean $p.Name 120)), ('allocated_mb=' + $p.AllocatedBaseSize), ('current_mb=' + $p.CurrentUsage), ('peak_mb=' + $p.PeakUsage)) -join "`t"
    }
    $disk = (Get-Wmi 'Win32_LogicalDisk' ("DeviceID='" + $env:SystemDrive + "'"))
    if ($disk.Count -gt 0) { $lines += ('system_drive_free_mb=' + [int64]($disk[0].FreeSpace / 1048576)) }
} catch { $st = 'error'; $note = $_.Exception.Message }
Emit 'pagefile' $st $note 800 $lines $false

$lines = @(); $st = 'ok'; $note = ''
try {
    if (-not $dumpFile) { $dumpFile = Join-Path $env:SystemRoot 'MEMORY.DMP' }
    $lines += ('path=' + (Clean $dumpFile 200))
    if (Test-Path -LiteralPath $dumpFile -PathType Leaf) {
        $i = Get-Item -LiteralPath $dumpFile -Force
        $lines += @('exists=1', ('size_bytes=' + $i.Length), ('modified_utc=' + (Utc $i.LastWriteTimeUtc)))
    } else { $lines += 'exists=0' }
} catch { $st = 'error'; $note = $_.Exception.Message }
Emit 'memory_dump' $st $note 500 $lines $false

$lines = @(); $st = 'ok'; $note = ''
try {
    if (-not $miniDir) { $miniDir = Join-Path $env:SystemRoot 'Minidump' }
    $lines += ('dir=' + (Clean $miniDir 200))
    if (Test-Path -LiteralPath $miniDir -PathType Container) {
        $files = @(Get-ChildItem -LiteralPath $miniDir -Filter '*.dmp' -Force | Sort-Object LastWriteTimeUtc -Descending)
        $lines += @('exists=1', ('count=' + $files.Count))
        foreach ($f in ($files | Select-Object -First 5)) {
            $lines += (('modified_utc=' + (Utc $f.LastWriteTimeUtc)), ('size_bytes=' + $f.Length), ('path=' + (Clean $f.FullName 200))) -join "`t"
        }
    } else { $lines += @('exists=0', 'count=0') }
    # Windows Error Reporting keeps a report folder per kernel crash (Kernel_<code>_...)
    foreach ($w in @('ReportArchive', 'ReportQueue')) {
        $dir = Join-Path $env:ProgramData ('Microsoft\Windows\WER\' + $w)
        if (Test-Path -LiteralPath $dir -PathType Container) {
            $reports = @(Get-ChildItem -LiteralPath $dir -Force | Where-Object { $_.PSIsContainer -and $_.Name -match '^(Kernel_|.*BlueScreen)' } | Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 3)
            foreach ($k in $reports) {
                $lines += (('wer_report=' + (Clean $k.Name 120)), ('modified_utc=' + (Utc $k.LastWriteTimeUtc)), ('store=' + $w)) -join "`t"
            }
        }
    }
} catch { $st = 'error'; $note = $_.Exception.Message }
Emit 'minidumps' $st $note 1500 $lines $false

Write-Output "=====$Nonce EOF sections=$($script:Sections)====="
exit 0
