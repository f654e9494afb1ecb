¶

benchbench€€€(è0€‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*1Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¸

benchbench€€€(è0€‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*2Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxº

benchbench€€€ (è0€‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*3Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¶

benchbench€‚€(é0è—‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*4Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¸

benchbench€‚€(é0è—‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*5Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxº

benchbench€‚€ (é0è—‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*6Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¶

benchbench€„€(ê0ÐŸ‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*7Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¸

benchbench€„€(ê0ÐŸ‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*8Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxº

benchbench€„€ (ê0ÐŸ‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*9Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx·

benchbench€†€(ë0¸§‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*10Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¹

benchbench€†€(ë0¸§‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*11Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx»

benchbench€†€ (ë0¸§‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*12Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx·

benchbench€ˆ€(ì0 ¯‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*13Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¹

benchbench€ˆ€(ì0 ¯‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*14Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx»

benchbench€ˆ€ (ì0 ¯‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*15Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx·

benchbench€Š€(í0ˆ·‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*16Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¸

benchbench€Š€(í0ˆ·‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*4Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxº

benchbench€Š€ (í0ˆ·‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*5Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*Fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx¶

benchbench€Œ€(î0ð¾‹õ¤–˜@JpublicRitemsj
idint8 ÿÿÿÿÿÿÿÿÿ*6Hjd
payloadtext ÿÿÿÿÿÿÿÿÿ*FxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxT

benchbench€Œ€ (î0ð¾‹õ¤–˜@JpublicRitemsr
idint8 ÿÿÿÿÿÿÿÿÿ*1H