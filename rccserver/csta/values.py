"""Enumerated CSTA values (reference sections 3.3 and 3.4; ECMA-269 spellings)."""

LOCAL_CONNECTION_STATES = frozenset({
    "null", "initiated", "alerting", "connected", "hold", "queued", "fail",
})

EVENT_CAUSES = frozenset({
    "acdBusy", "acdForward", "acdSaturated", "activeParticipation",
    "alertTimeExpired", "alternate", "autoWork", "babbleTimeout", "badAttribute",
    "blocked", "busy", "busyOverflow", "calendarOverflow", "callBack",
    "callCancelled", "callForward", "callForwardBusy", "callForwardImmediate",
    "callForwardNoAnswer", "callNotAnswered", "callPickup", "campOn",
    "campOnTrunks", "capacityOverflow", "characterCountReached", "conference",
    "consultation", "destDetected", "destNotObtainable", "destOutOfOrder",
    "distributed", "distributionDelay", "doNotDisturb", "dTMFDigitDetected",
    "durationExceeded", "endOfMessageDetected", "enteringDistribution",
    "forcedPause", "forcedTransition", "incompatibleDestination", "intrude",
    "invalidAccountCode", "invalidNumberFormat", "joinCall", "keyOperation",
    "keyOperationInUse", "lockout", "maintenance", "makeCall",
    "makePredictiveCall", "messageDurationExceeded", "messageSizeExceeded",
    "multipleAlerting", "multipleQueuing", "networkCongestion",
    "networkDialling", "networkNotObtainable", "networkOutOfOrder",
    "networkSignal", "newCall", "nextMessage", "noAvailableAgents", "normal",
    "normalClearing", "noSpeechDetected", "notAvaliableBearerService",
    "notSupportedBearerService", "numberChanged", "numberUnallocated",
    "overflow", "override", "park", "queueCleared", "recall", "redirected",
    "remainsInQueue", "reorderTone", "reserved", "resourcesNotAvailable",
    "selectedTrunkBusy", "silentParticipation", "singleStepConference",
    "singleStepTransfer", "speechDetected", "suspend",
    "switchingFunctionTerminated", "terminationCharacterReceived", "timeout",
    "transfer", "trunksBusy", "unauthorisedBearerService", "unknownOverflow",
})

FORWARDING_TYPES = frozenset({
    "forwardImmediate", "forwardBusy", "forwardNoAns", "forwardDND",
    "forwardBusyInt", "forwardBusyExt", "forwardNoAnsInt", "forwardNoAnsExt",
    "forwardImmInt", "forwardImmExt", "forwardDNDInt", "forwardDNDExt",
})

SYSTEM_STATUSES = frozenset({
    "initializing", "enabled", "normal", "messagesLost", "disabled",
    "partiallyDisabled", "overloadImminent", "overloadReached", "overloadRelieved",
})

AUTO_ORIGINATE = frozenset({"prompt", "doNotPrompt"})
