// Where each figure in boards/profiles/currents.ts comes from: datasheet, measurement or
// estimate. The benchmark prints them beside the figures.

export const CURRENT_SOURCES: { [part: string]: string } = {
  "esp32-cpu":
    "ESP32-WROOM-32 datasheet: modem-sleep 20-68 mA, deep sleep 10 uA; +50 uA LDO (ME6211 datasheet 40 uA)",
  "esp32-devkitc":
    "ESP32 datasheet + AMS1117 datasheet (Iq 5 mA) + CP2102 suspend",
  "esp32-lowpower":
    "battery-node board: ESP32-WROOM-32 datasheet deep sleep (RTC timer + RTC memory) 10 uA + low-quiescent LDO (Microchip MCP1700 datasheet: Iq 1.6 uA typ) + switched battery divider, no USB-serial chip on the rail (as DFRobot FireBeetle ESP32 DFR0478 wiki: ~10 uA deep sleep): ~13 uA; awake as esp32-cpu",
  "esp32-wifi":
    "ESP32 datasheet: RX 95-100 mA, TX 160-240 mA; mean over a flush, estimate",
  "esp32-ble":
    "ESP32 datasheet (power consumption by power modes): Wi-Fi/BT Rx and listening 95-100 mA; BT works in no sleep mode, so only while awake. Upper bound: Espruino's ESP32 build runs the controller without modem sleep (not measured)",
  pms5003:
    "Plantower PMS5003 datasheet: active <= 100 mA, standby <= 200 uA; measured 25-50 mA run (docs/hardware.md): 60 mA taken between them",
  sds011:
    "Nova SDS011 datasheet v1.3: 70 +/- 10 mA working, < 4 mA sleeping",
  sps30:
    "Sensirion SPS30 datasheet: 55-65 mA measuring, 38 uA sleep",
  sen0232:
    "DFRobot SEN0232 wiki: operating current < 3 mA (estimate from module; unconfirmed)",
  "pcb-spl":
    "PCB Artists I2C sound level module: 5 mA active, 100 uA power-down (docs/hardware.md)",
  dnms:
    "DNMS (Sensor.Community): Teensy 4.0 (PJRC: ~100 mA at 600 MHz) + ICS-43434 mic; no sleep mode (estimate, unconfirmed)",
  a02yyuw:
    "DFRobot A02YYUW wiki: operating current <= 8 mA",
  "jsn-sr04t":
    "JSN-SR04T v3 sheet: working current 8 mA, quiescent 5 mA",
  "hc-sr04":
    "HC-SR04 sheet: 15 mA working, < 2 mA quiescent",
  "relay-5v":
    "typical 5 V single-channel opto relay module, coil + LED ~70 mA energised (typical, not measured)",
  acs712:
    "Allegro ACS712 datasheet: supply current 10 mA typ",
  "latch-74lvc1g74":
    "Nexperia/TI 74LVC1G74 datasheets: ICC 10 uA max (-40..85 C, static), ~0.1 uA typical: the maximum taken",
};

/** Where the simulated Wi-Fi join times (sim/espruino/wifi.ts) come from. */
export const WIFI_JOIN_SOURCES: { [mode: string]: string } = {
  dhcp:
    "1.5-4 s: ESP32 wake + MicroPython connect with DHCP 1,626 ms incl. 70 ms boot (glenn20/upy-esp32-experiments ESPNowvsWifiEnergyUsage, measured); ESP8266 deep-sleep wake to AP joined with DHCP ~3 s (flogics.com 2016-09, measured); busy APs answer DHCP later",
  static:
    "0.55-0.9 s: ESP32 wake + connect with a static IP 734 ms incl. 70 ms boot, 774 ms with one MQTT publish (glenn20/upy-esp32-experiments, measured); ESP8266 0.4 s (flogics.com, measured); ~0.2 s more is saved only with channel and BSSID given (blog.voneicken.com 2018 lp-wifi-esp32-2), which Espruino's connect() does not take",
};
